package dbcontract_test

// Catalog-wide checks of every function, table and sequence in schema public
// after all migrations, with Supabase's default privileges mirrored by the
// bootstrap. Unlike the per-name tests, these enumerate pg_catalog, so a
// function or table added later is covered too.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"billing/internal/testdb"

	"github.com/jackc/pgx/v5"
)

// userCallable are the only functions signed-in users may execute.
var userCallable = []string{"consume_usage", "get_usage", "release_usage"}

func TestEveryFunctionPrivilege(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	rows, err := db.Pool.Query(ctx, `
		select p.oid::regprocedure::text, p.proname, p.prosecdef,
		       coalesce(array_to_string(p.proconfig, ','), ''),
		       has_function_privilege('anon', p.oid, 'execute'),
		       has_function_privilege('authenticated', p.oid, 'execute'),
		       exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
		               where a.grantee = 0 and a.privilege_type = 'EXECUTE')
		from pg_proc p join pg_namespace n on n.oid = p.pronamespace
		where n.nspname = 'public'
		  and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
		order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	type fn struct {
		Sig, Name           string
		Definer             bool
		Config              string
		Anon, Authd, Public bool
	}
	fns, err := pgx.CollectRows(rows, pgx.RowToStructByPos[fn])
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) < 20 {
		t.Fatalf("found only %d functions", len(fns))
	}
	for _, f := range fns {
		if f.Public {
			t.Errorf("%s: EXECUTE granted to PUBLIC", f.Sig)
		}
		if f.Anon {
			t.Errorf("%s: anon may execute", f.Sig)
		}
		if f.Authd != slices.Contains(userCallable, f.Name) {
			t.Errorf("%s: authenticated may execute = %v", f.Sig, f.Authd)
		}
		if f.Definer && !strings.Contains(f.Config, "search_path=") {
			t.Errorf("%s: SECURITY DEFINER without a fixed search_path", f.Sig)
		}
	}
	t.Logf("%d functions checked", len(fns))
}

// allowedTablePrivs are the privileges client roles may hold per table
// (everything else in public must give them none).
var allowedTablePrivs = map[string]map[string][]string{
	"profiles":      {"authenticated": {"SELECT", "UPDATE"}},
	"subscriptions": {"authenticated": {"SELECT"}},
	"usage_limits":  {"authenticated": {"SELECT"}},
}

func TestEveryTableRLSAndPrivileges(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	rows, err := db.Pool.Query(ctx, `
		select c.relname, c.relkind::text, c.relrowsecurity
		from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
		order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	type rel struct {
		Name, Kind string
		RLS        bool
	}
	rels, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rel])
	if err != nil {
		t.Fatal(err)
	}
	var report []string
	for _, r := range rels {
		if r.Kind != "S" && !r.RLS {
			t.Errorf("table %s: row level security is off", r.Name)
		}
		privs := []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
		if r.Kind == "S" {
			privs = []string{"USAGE", "SELECT", "UPDATE"}
		}
		for _, role := range []string{"anon", "authenticated"} {
			var held []string
			for _, p := range privs {
				var ok bool
				q := `select has_table_privilege($1, $2::regclass, $3)`
				if r.Kind == "S" {
					q = `select has_sequence_privilege($1, $2::regclass, $3)`
				}
				if err := db.Pool.QueryRow(ctx, q, role, "public."+r.Name, p).Scan(&ok); err != nil {
					t.Fatal(err)
				}
				if ok {
					held = append(held, p)
				}
			}
			report = append(report, fmt.Sprintf("%s %s: %v", role, r.Name, held))
			allowed := allowedTablePrivs[r.Name][role]
			for _, p := range held {
				if !slices.Contains(allowed, p) {
					t.Errorf("%s holds %s on public.%s", role, p, r.Name)
				}
			}
		}
	}
	t.Logf("privileges:\n%s", strings.Join(report, "\n"))
}

// A signed-in user cannot reach another user's counters or un-count usage
// through the two functions meant for users.
func TestUsageFunctionsRefuseAbuse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct{ name, sql string }{
		{"negative amount", `select public.consume_usage(p_counter => 'properties', p_amount => -5)`},
		{"zero amount", `select public.consume_usage(p_counter => 'properties', p_amount => 0)`},
		{"direct other user", `select public.billing_consume_usage(p_user_id => $1, p_counter => 'properties', p_amount => 1)`},
		{"direct other user get", `select public.billing_get_usage(p_user_id => $1, p_counter => 'properties')`},
		{"backdate", `select public.billing_consume_usage(p_user_id => $1, p_counter => 'properties', p_amount => 1, p_now => now() + interval '2 months')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.db.AsUser(t, ctx, f.a, func(tx pgx.Tx) error {
				var args []any
				if strings.Contains(tc.sql, "$1") {
					args = append(args, f.b)
				}
				_, err := tx.Exec(ctx, tc.sql, args...)
				return err
			})
			if err == nil {
				t.Errorf("%s succeeded", tc.name)
			}
		})
	}
	// A forged claims setting cannot be set by a client through PostgREST,
	// but check that consume_usage only ever touches auth.uid()'s row.
	var used int
	if err := f.db.AsUser(t, ctx, f.a, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `select public.consume_usage(p_counter => 'properties', p_amount => 3)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Pool.QueryRow(ctx, `select used from public.usage_limits where user_id = $1 and counter = 'properties'`, f.b).Scan(&used); err != nil {
		t.Fatal(err)
	}
	if used != 0 {
		t.Errorf("user B's counter is %d after user A consumed", used)
	}
}
