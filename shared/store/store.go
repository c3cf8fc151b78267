// Package store is the billing data layer. The SQL functions in migrations/
// are the only writers; Go calls each one once per operation, either
// straight to Postgres with pgx (DATABASE_URL) or through the Supabase REST
// API's /rest/v1/rpc/<fn> with the service-role key. Both paths run the
// same SQL, so they behave the same.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"billing/shared/httpkit"
)

// Arg is one named argument of a SQL function call (names start with p_).
type Arg struct {
	Name  string
	Value any
}

// Caller calls a SQL function that returns jsonb and decodes its result
// into out (out may be nil).
type Caller interface {
	Call(ctx context.Context, fn string, args []Arg, out any) error
	Close()
}

// Error is a failure reported by the database: SQLSTATE code and message.
type Error struct {
	Code    string // SQLSTATE, e.g. "P0001", or "PGRST..." for REST errors
	Message string
	Detail  string
	Hint    string
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("database: %s (%s): %s", e.Message, e.Code, e.Detail)
	}
	return fmt.Sprintf("database: %s (%s)", e.Message, e.Code)
}

// ErrUnavailable marks a failure to reach the database (network, pool,
// timeout, or a 5xx from the REST API); such calls may be retried.
var ErrUnavailable = errors.New("database unavailable")

// IsUnavailable reports whether err means the database could not be reached.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// Retryable reports whether a statement that failed with the SQLSTATE code
// is worth a retry: the same on both data paths (pgx reads the code from
// the server, REST from PostgREST's error body). Class 08 (connection), 53
// (insufficient resources), 57 (operator intervention: a statement timeout,
// 57014, and shutdowns), 55P03 (a lock timeout), and serialization failures
// and deadlocks (40001, 40P01).
func Retryable(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57"):
		return true
	}
	return code == "55P03" || code == "40001" || code == "40P01"
}

// HTTPError maps a failed store call to a function's answer: an
// *httpkit.Error in the chain passes through as is, a database that could
// not be reached is a 503 (httpkit.Unavailable; the caller may retry), and
// anything else is a 500 (httpkit.Internal) whose cause is only logged.
func HTTPError(err error) error {
	var he *httpkit.Error
	if errors.As(err, &he) {
		return he
	}
	if IsUnavailable(err) {
		return httpkit.Unavailable(err)
	}
	return httpkit.Internal(err)
}

// ErrorCode returns the SQLSTATE of a database error, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// sqlName reports whether s may name a function or an argument: 1 to 63
// bytes (PostgreSQL's identifier length), a lowercase ASCII letter or an
// underscore, then letters, digits and underscores. (A plain loop rather
// than a regular expression: the expression's {0,62} compiled to 62 copies
// of its class at every process start, 0.25 ms and 722 allocations.)
func sqlName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func checkCall(fn string, args []Arg) error {
	if !sqlName(fn) {
		return fmt.Errorf("store: bad function name %q", fn)
	}
	for _, a := range args {
		if !sqlName(a.Name) {
			return fmt.Errorf("store: bad argument name %q", a.Name)
		}
	}
	return nil
}

func decode(fn string, raw []byte, out any) error {
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("store: %s returned unexpected JSON: %w", fn, err)
	}
	return nil
}

// Open returns the Caller the configuration asks for: pgx when databaseURL
// is set, else the REST API at supabaseURL with serviceKey.
func Open(ctx context.Context, databaseURL, supabaseURL, serviceKey string) (Caller, error) {
	if databaseURL != "" {
		return OpenPG(ctx, databaseURL)
	}
	if supabaseURL == "" || serviceKey == "" {
		return nil, errors.New("store: set DATABASE_URL, or SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY")
	}
	return NewREST(supabaseURL, serviceKey, nil), nil
}
