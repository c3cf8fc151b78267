// Package storetest provides an httptest stand-in for the Supabase REST
// API's /rest/v1/rpc/<fn> endpoint. It checks the request exactly as
// PostgREST behind Supabase's gateway would receive it (method, path,
// headers, a JSON object body) and runs the call on the real test database
// as service_role, so the REST data path runs the same SQL as the pgx one.
// Handler is the same endpoint over any database, for `billing serve-wasm`.
package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"billing/internal/testdb"
)

// REST is the stand-in server.
type REST struct {
	*httptest.Server
	// Calls counts the RPC calls that reached the database.
	Calls atomic.Int64
	h     *handler
}

// handler is the endpoint: rpc calls on pool, only with key.
type handler struct {
	key   string
	pool  *pgxpool.Pool
	calls *atomic.Int64
}

// Handler answers /rest/v1/rpc/<fn> as NewREST's server does, on pool as
// service_role, accepting only serviceKey.
func Handler(pool *pgxpool.Pool, serviceKey string) http.Handler {
	return &handler{key: serviceKey, pool: pool, calls: new(atomic.Int64)}
}

var rpcPath = regexp.MustCompile(`^/rest/v1/rpc/([a-z_][a-z0-9_]*)$`)

// NewREST starts the stand-in for db, accepting only serviceKey. It is
// closed when t ends.
func NewREST(t testing.TB, db *testdb.DB, serviceKey string) *REST {
	s := &REST{}
	s.h = &handler{key: serviceKey, pool: db.Pool, calls: &s.Calls}
	s.Server = httptest.NewServer(s.h)
	t.Cleanup(s.Close)
	return s
}

type pgrstError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Details *string `json:"details"`
	Hint    *string `json:"hint"`
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(pgrstError{Code: code, Message: msg})
}

func (s *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := rpcPath.FindStringSubmatch(r.URL.Path)
	switch {
	case m == nil:
		writeErr(w, 404, "PGRST125", "invalid path "+r.URL.Path)
		return
	case r.Method != http.MethodPost:
		writeErr(w, 405, "PGRST117", "method must be POST")
		return
	case r.Header.Get("apikey") != s.key:
		writeErr(w, 401, "PGRST301", "missing or wrong apikey header")
		return
	case strings.Count(s.key, ".") == 2 && r.Header.Get("Authorization") != "Bearer "+s.key:
		writeErr(w, 401, "PGRST301", "Authorization must carry the service role key")
		return
	case strings.Count(s.key, ".") != 2 && r.Header.Get("Authorization") != "":
		writeErr(w, 401, "PGRST301", "a non-JWT key must not be sent as Authorization")
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		writeErr(w, 415, "PGRST102", "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, 400, "PGRST102", "unreadable body")
		return
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal(body, &args); err != nil {
		writeErr(w, 400, "PGRST102", "body must be a JSON object")
		return
	}
	out, err := s.call(r, m[1], args)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			writeErr(w, statusFor(pe.Code), pe.Code, pe.Message)
			return
		}
		writeErr(w, 500, "PGRST000", err.Error())
		return
	}
	s.calls.Add(1)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = io.WriteString(w, out)
}

// call runs select public.fn(name => value, ...) as service_role, with
// each JSON argument passed as text (objects and arrays as JSON text), the
// way PostgREST hands named arguments to a function.
func (s *handler) call(r *http.Request, fn string, args map[string]json.RawMessage) (string, error) {
	names := make([]string, 0, len(args))
	for k := range args {
		if !regexp.MustCompile(`^[a-z_][a-z0-9_]*$`).MatchString(k) {
			return "", fmt.Errorf("bad argument name %q", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	var vals []any
	for i, n := range names {
		parts = append(parts, fmt.Sprintf("%s => $%d", n, i+1))
		raw := args[n]
		var v any
		switch {
		case string(raw) == "null":
			v = nil
		case len(raw) > 0 && raw[0] == '"':
			var str string
			_ = json.Unmarshal(raw, &str)
			v = str
		default:
			v = string(raw)
		}
		vals = append(vals, v)
	}
	ctx := r.Context()
	var out *string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `select set_config('request.jwt.claims', '{"role":"service_role"}', true)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "set local role service_role"); err != nil {
			return err
		}
		sql := fmt.Sprintf("select public.%s(%s)::text", fn, strings.Join(parts, ", "))
		return tx.QueryRow(ctx, sql, vals...).Scan(&out)
	})
	if err != nil {
		return "", err
	}
	if out == nil {
		return "null", nil
	}
	return *out, nil
}

// statusFor maps SQLSTATE codes to the HTTP status PostgREST answers with.
func statusFor(code string) int {
	switch {
	case code == "42883" || code == "42P01":
		return 404
	case code == "42501":
		return 403
	case code == "23505" || code == "23503":
		return 409
	case strings.HasPrefix(code, "P0"), strings.HasPrefix(code, "22"), strings.HasPrefix(code, "23"):
		return 400
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57"):
		return 503
	}
	return 500
}
