package dbcontract_test

import (
	"context"
	"io/fs"
	"testing"

	"billing/internal/testdb"
	"billing/migrations"

	"github.com/jackc/pgx/v5"
)

// Every function's signature as the tests call it, with sample arguments.
var functionCalls = map[string]struct {
	sql  string
	args func(f fixture) []any
}{
	"billing_user_state": {`public.billing_user_state(p_user_id => $1)`, func(f fixture) []any { return []any{f.a} }},
	"billing_set_usage_limits": {`public.billing_set_usage_limits(p_user_id => $1, p_limits => '{"properties": 3}', p_time_zone => 'Asia/Tokyo')`,
		func(f fixture) []any { return []any{f.a} }},
	"billing_consume_usage": {`public.billing_consume_usage(p_user_id => $1, p_counter => 'properties')`,
		func(f fixture) []any { return []any{f.a} }},
	"billing_get_usage": {`public.billing_get_usage(p_user_id => $1, p_counter => 'properties')`,
		func(f fixture) []any { return []any{f.a} }},
	"consume_usage":   {`public.consume_usage(p_counter => 'properties')`, func(fixture) []any { return nil }},
	"get_usage":       {`public.get_usage(p_counter => 'properties')`, func(fixture) []any { return nil }},
	"billing_rfc3339": {`to_jsonb(public.billing_rfc3339(now()))`, func(fixture) []any { return nil }},
}

func TestFunctionPrivileges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	type as func(fn func(pgx.Tx) error) error
	roles := map[string]as{
		"anon":          func(fn func(pgx.Tx) error) error { return f.db.AsAnon(t, ctx, fn) },
		"authenticated": func(fn func(pgx.Tx) error) error { return f.db.AsUser(t, ctx, f.a, fn) },
		"service_role":  func(fn func(pgx.Tx) error) error { return f.db.AsServiceRole(t, ctx, fn) },
	}
	tests := []struct {
		role, function string
		allowed        bool
	}{
		{"anon", "billing_user_state", false},
		{"anon", "billing_set_usage_limits", false},
		{"anon", "consume_usage", false},
		{"anon", "get_usage", false},
		{"anon", "billing_rfc3339", false},
		{"authenticated", "billing_user_state", false},
		{"authenticated", "billing_set_usage_limits", false},
		{"authenticated", "billing_consume_usage", false},
		{"authenticated", "billing_get_usage", false},
		{"authenticated", "billing_rfc3339", false},
		{"authenticated", "consume_usage", true},
		{"authenticated", "get_usage", true},
		{"service_role", "billing_user_state", true},
		{"service_role", "billing_set_usage_limits", true},
		{"service_role", "billing_consume_usage", true},
		{"service_role", "billing_get_usage", true},
	}
	for _, tc := range tests {
		t.Run(tc.role+"/"+tc.function, func(t *testing.T) {
			call := functionCalls[tc.function]
			err := roles[tc.role](func(tx pgx.Tx) error {
				var out any
				return callJSON(ctx, tx, call.sql, &out, call.args(f)...)
			})
			if tc.allowed && err != nil {
				t.Errorf("%s cannot call %s: %v", tc.role, tc.function, err)
			}
			if !tc.allowed {
				wantState(t, err, insufficientPrivilege)
			}
		})
	}
}

func TestFunctionsAreSecurityDefinerWithSearchPath(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	rows, err := db.Pool.Query(context.Background(), `
		select p.proname, p.prosecdef, coalesce(array_to_string(p.proconfig, ','), '')
		from pg_proc p join pg_namespace n on n.oid = p.pronamespace
		where n.nspname = 'public' and p.proname = any($1)`,
		[]string{"billing_user_state", "billing_set_usage_limits", "billing_consume_usage",
			"billing_get_usage", "consume_usage", "get_usage", "billing_create_profile"})
	if err != nil {
		t.Fatal(err)
	}
	type fn struct {
		Name    string
		Definer bool
		Config  string
	}
	fns, err := pgx.CollectRows(rows, pgx.RowToStructByPos[fn])
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 7 {
		t.Errorf("found %d functions, want 7: %v", len(fns), fns)
	}
	for _, fn := range fns {
		t.Run(fn.Name, func(t *testing.T) {
			if !fn.Definer || fn.Config != "search_path=public, pg_temp" {
				t.Errorf("security definer = %v, config = %q", fn.Definer, fn.Config)
			}
		})
	}
}

func TestProfileTriggerAndBackfill(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	profiles := func(t *testing.T, id string) int {
		t.Helper()
		var n int
		if err := db.Pool.QueryRow(ctx, `select count(*) from public.profiles where id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("new user gets a profile", func(t *testing.T) {
		if n := profiles(t, db.CreateUser(t, "new@example.com")); n != 1 {
			t.Errorf("profiles = %d, want 1", n)
		}
	})

	t.Run("backfill gives old users a profile", func(t *testing.T) {
		db.MustExec(t, `alter table auth.users disable trigger zz_billing_create_profile`)
		old := db.CreateUser(t, "old@example.com")
		db.MustExec(t, `alter table auth.users enable trigger zz_billing_create_profile`)
		if n := profiles(t, old); n != 0 {
			t.Fatalf("profiles before backfill = %d, want 0", n)
		}
		names, err := fs.Glob(migrations.FS, "*_billing_tables.sql")
		if err != nil || len(names) != 1 {
			t.Fatalf("tables migration: %v %v", names, err)
		}
		body, err := fs.ReadFile(migrations.FS, names[0])
		if err != nil {
			t.Fatal(err)
		}
		db.MustExec(t, string(body))
		if n := profiles(t, old); n != 1 {
			t.Errorf("profiles after backfill = %d, want 1", n)
		}
	})

	t.Run("coexists with the app's own profile trigger", func(t *testing.T) {
		// The common Supabase starter: an AFTER INSERT trigger that inserts
		// the profile without ON CONFLICT. Ours runs after it and skips.
		db.MustExec(t, `create function public.handle_new_user() returns trigger language plpgsql
			security definer set search_path = public as $$
			begin insert into public.profiles (id) values (new.id); return new; end $$`)
		db.MustExec(t, `create trigger on_auth_user_created after insert on auth.users
			for each row execute function public.handle_new_user()`)
		if n := profiles(t, db.CreateUser(t, "app@example.com")); n != 1 {
			t.Errorf("profiles = %d, want 1", n)
		}
		db.MustExec(t, `drop trigger on_auth_user_created on auth.users`)
	})

	t.Run("a failing profile insert does not block sign-up", func(t *testing.T) {
		db.MustExec(t, `alter table public.profiles add column nickname text not null default 'x'`)
		db.MustExec(t, `alter table public.profiles alter column nickname drop default`)
		id := db.CreateUser(t, "nonick@example.com")
		if n := profiles(t, id); n != 0 {
			t.Errorf("profiles = %d, want 0 (the insert cannot succeed)", n)
		}
		db.MustExec(t, `alter table public.profiles drop column nickname`)
	})

	t.Run("deleting the user deletes the profile", func(t *testing.T) {
		id := db.CreateUser(t, "gone@example.com")
		db.MustExec(t, `delete from auth.users where id = $1`, id)
		if n := profiles(t, id); n != 0 {
			t.Errorf("profiles = %d, want 0", n)
		}
	})
}
