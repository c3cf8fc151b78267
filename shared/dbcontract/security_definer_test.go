package dbcontract_test

import (
	"context"
	"testing"

	"billing/internal/testdb"
)

// Every SECURITY DEFINER function in public: anon may execute none, and
// authenticated only the three documented user-facing ones; each pins its
// search_path.
func TestSecurityDefinerFunctionsArePrivateAndPinned(t *testing.T) {
	db := testdb.New(t)
	rows, err := db.Pool.Query(context.Background(), `
		select p.oid::regprocedure::text,
		       has_function_privilege('anon', p.oid, 'execute'),
		       has_function_privilege('authenticated', p.oid, 'execute'),
		       coalesce(array_to_string(p.proconfig, ','), '')
		from pg_proc p join pg_namespace n on n.oid = p.pronamespace
		where n.nspname = 'public' and p.prosecdef`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	allowed := map[string]bool{"get_usage(text)": true, "consume_usage(text,integer,text)": true, "release_usage(text,integer,text)": true}
	n := 0
	for rows.Next() {
		var sig, cfg string
		var anon, authn bool
		if err := rows.Scan(&sig, &anon, &authn, &cfg); err != nil {
			t.Fatal(err)
		}
		n++
		if anon || (authn && !allowed[sig]) {
			t.Errorf("%s executable by anon=%v authenticated=%v", sig, anon, authn)
		}
		if cfg == "" {
			t.Errorf("%s has no pinned search_path", sig)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no security definer function found")
	}
	t.Logf("%d security definer functions checked", n)
}
