package store_test

// The two data paths must answer the same for the same SQL
// (DESIGN.md, Database: "State transitions live in SQL functions that the
// Go code calls once per operation, so that the two data paths behave the
// same"). Each case runs one SQL function on the test database through pgx
// (store.OpenPG) and through the REST caller (store.NewREST) against a
// PostgREST stand-in that forwards to the same database and answers with
// the HTTP status PostgREST documents for the SQLSTATE
// (docs.postgrest.org/en/stable/references/errors.html, "HTTP Status
// Codes"), then compares what the callers of the store see:
// store.HTTPError's status and code, and store.IsUnavailable (which the
// webhook and reconcile use to decide "retry later" versus "record and go on").

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"billing/internal/testdb"
	"billing/shared/httpkit"
	"billing/shared/store"
)

// postgrestStatus is PostgREST's documented SQLSTATE -> HTTP status table.
func postgrestStatus(code string) int {
	switch {
	case strings.HasPrefix(code, "08"):
		return 503
	case strings.HasPrefix(code, "09"):
		return 500
	case strings.HasPrefix(code, "0L"), strings.HasPrefix(code, "0P"):
		return 403
	case code == "23503", code == "23505":
		return 409
	case code == "25006":
		return 405
	case strings.HasPrefix(code, "25"):
		return 500
	case strings.HasPrefix(code, "28"):
		return 403
	case strings.HasPrefix(code, "2D"), strings.HasPrefix(code, "38"), strings.HasPrefix(code, "39"),
		strings.HasPrefix(code, "3B"), strings.HasPrefix(code, "40"):
		return 500
	case code == "53400":
		return 500
	case strings.HasPrefix(code, "53"):
		return 503
	case strings.HasPrefix(code, "54"), strings.HasPrefix(code, "55"), strings.HasPrefix(code, "57"),
		strings.HasPrefix(code, "58"), strings.HasPrefix(code, "F0"), strings.HasPrefix(code, "HV"):
		return 500
	case code == "P0001":
		return 400
	case strings.HasPrefix(code, "P0"), strings.HasPrefix(code, "XX"):
		return 500
	case code == "42883", code == "42P01":
		return 404
	case code == "42P17":
		return 500
	case code == "42501":
		return 403
	}
	return 400
}

// postgrest forwards /rest/v1/rpc/<fn> to db as PostgREST does: named
// arguments as text, in a transaction as service_role, with the role's
// statement_timeout (PostgREST applies the impersonated role's settings).
func postgrest(t *testing.T, db *testdb.DB, statementTimeout string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn := strings.TrimPrefix(r.URL.Path, "/rest/v1/rpc/")
		b, _ := io.ReadAll(r.Body)
		var args map[string]json.RawMessage
		_ = json.Unmarshal(b, &args)
		names := make([]string, 0, len(args))
		for k := range args {
			names = append(names, k)
		}
		sort.Strings(names)
		var parts []string
		var vals []any
		for i, n := range names {
			parts = append(parts, fmt.Sprintf("%s => $%d", n, i+1))
			raw := args[n]
			switch {
			case string(raw) == "null":
				vals = append(vals, nil)
			case len(raw) > 0 && raw[0] == '"':
				var s string
				_ = json.Unmarshal(raw, &s)
				vals = append(vals, s)
			default:
				vals = append(vals, string(raw))
			}
		}
		var out *string
		err := pgx.BeginFunc(r.Context(), db.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(r.Context(), "set local role service_role"); err != nil {
				return err
			}
			if statementTimeout != "" {
				if _, err := tx.Exec(r.Context(), "select set_config('statement_timeout', $1, true)", statementTimeout); err != nil {
					return err
				}
			}
			return tx.QueryRow(r.Context(), fmt.Sprintf("select public.%s(%s)::text", fn, strings.Join(parts, ", ")), vals...).Scan(&out)
		})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				w.WriteHeader(500)
				_ = json.NewEncoder(w).Encode(map[string]any{"code": "PGRST000", "message": err.Error()})
				return
			}
			w.WriteHeader(postgrestStatus(pe.Code))
			_ = json.NewEncoder(w).Encode(map[string]any{"code": pe.Code, "message": pe.Message, "details": nil, "hint": nil})
			return
		}
		if out == nil {
			_, _ = io.WriteString(w, "null")
			return
		}
		_, _ = io.WriteString(w, *out)
	}))
	t.Cleanup(s.Close)
	return s
}

const parityFunctions = `
create or replace function public.parity_raise(p_code text) returns jsonb language plpgsql as $$
begin
  raise exception 'parity: raised %', p_code using errcode = p_code;
end $$;
create or replace function public.parity_sleep(p_seconds double precision) returns jsonb language plpgsql as $$
begin
  perform pg_sleep(p_seconds);
  return '{"slept": true}'::jsonb;
end $$;
create or replace function public.parity_big(p_bytes integer) returns jsonb language sql as $$
  select jsonb_build_object('blob', repeat('x', p_bytes), 'n', 1);
$$;
grant execute on function public.parity_raise(text), public.parity_sleep(double precision), public.parity_big(integer) to service_role;
`

type outcome struct {
	status      int
	code        string
	unavailable bool
	errText     string
}

func (o outcome) String() string {
	return fmt.Sprintf("HTTP %d %s (unavailable=%v)", o.status, o.code, o.unavailable)
}

func outcomeOf(err error) outcome {
	if err == nil {
		return outcome{status: 200}
	}
	var he *httpkit.Error
	if !errors.As(store.HTTPError(err), &he) {
		return outcome{status: -1, errText: err.Error()}
	}
	return outcome{status: he.Status, code: he.Code, unavailable: store.IsUnavailable(err), errText: err.Error()}
}

func paths(t *testing.T, db *testdb.DB, pgURL, statementTimeout string) (pg, rest store.Caller) {
	p, err := store.OpenPG(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	srv := postgrest(t, db, statementTimeout)
	return p, store.NewREST(srv.URL, "sb_secret_parity", nil)
}

func TestSQLStateParity(t *testing.T) {
	db := testdb.New(t)
	db.MustExec(t, parityFunctions)
	pg, rest := paths(t, db, db.URL, "")
	for _, code := range []string{"22023", "23505", "P0001", "P0002", "40001", "40P01", "57014", "55P03", "XX000", "53300", "42501"} {
		t.Run(code, func(t *testing.T) {
			ctx := context.Background()
			args := []store.Arg{{Name: "p_code", Value: code}}
			a := outcomeOf(pg.Call(ctx, "parity_raise", args, nil))
			b := outcomeOf(rest.Call(ctx, "parity_raise", args, nil))
			if a.status != b.status || a.code != b.code || a.unavailable != b.unavailable {
				t.Errorf("SQLSTATE %s: pgx path %v, REST path %v", code, a, b)
			}
		})
	}
}

// A real statement timeout (SQLSTATE 57014, "canceling statement due to
// statement timeout"): the same statement_timeout on both paths.
func TestStatementTimeoutParity(t *testing.T) {
	db := testdb.New(t)
	db.MustExec(t, parityFunctions)
	sep := "?"
	if strings.Contains(db.URL, "?") {
		sep = "&"
	}
	pg, rest := paths(t, db, db.URL+sep+"options=-c%20statement_timeout%3D200", "200")
	args := []store.Arg{{Name: "p_seconds", Value: 2.0}}
	a := outcomeOf(pg.Call(context.Background(), "parity_sleep", args, nil))
	b := outcomeOf(rest.Call(context.Background(), "parity_sleep", args, nil))
	t.Logf("pgx: %v: %s", a, a.errText)
	t.Logf("REST: %v: %s", b, b.errText)
	if a.status != b.status || a.code != b.code || a.unavailable != b.unavailable {
		t.Errorf("statement timeout: pgx path %v, REST path %v", a, b)
	}
	if !a.unavailable || a.status != http.StatusServiceUnavailable {
		t.Errorf("statement timeout: %v, want 503 unavailable (rolled back, worth a retry)", a)
	}
}

// The caller's context deadline passing during a call (the Lambda
// invocation's deadline, the webhook's budget).
func TestContextDeadlineParity(t *testing.T) {
	db := testdb.New(t)
	db.MustExec(t, parityFunctions)
	pg, rest := paths(t, db, db.URL, "")
	args := []store.Arg{{Name: "p_seconds", Value: 1.0}}
	call := func(c store.Caller) outcome {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		return outcomeOf(c.Call(ctx, "parity_sleep", args, nil))
	}
	a, b := call(pg), call(rest)
	t.Logf("pgx: %v: %s", a, a.errText)
	t.Logf("REST: %v: %s", b, b.errText)
	if a.status != b.status || a.code != b.code || a.unavailable != b.unavailable {
		t.Errorf("context deadline: pgx path %v, REST path %v", a, b)
	}
}

// A large result: the pgx path reads it whole; the REST path must too.
func TestLargeResultParity(t *testing.T) {
	db := testdb.New(t)
	db.MustExec(t, parityFunctions)
	pg, rest := paths(t, db, db.URL, "")
	args := []store.Arg{{Name: "p_bytes", Value: 9 << 20}}
	var x, y struct {
		Blob string `json:"blob"`
		N    int    `json:"n"`
	}
	errA := pg.Call(context.Background(), "parity_big", args, &x)
	errB := rest.Call(context.Background(), "parity_big", args, &y)
	if errA != nil {
		t.Fatalf("pgx path: %v", errA)
	}
	if errB != nil || len(y.Blob) != len(x.Blob) || y.N != 1 {
		t.Errorf("a %d-byte result: pgx path read it whole; REST path: blob %d bytes, err %v", len(x.Blob), len(y.Blob), errB)
	}
}
