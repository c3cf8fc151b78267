package reconcile_test

import (
	"context"
	"testing"

	"billing/functions/reconcile-subscriptions/reconcile"
)

// An applying run stores the plan catalog's limits before anything else,
// even when nothing differs, so that a user who never subscribed gets the
// free plan's limit from consume_usage; a dry run stores nothing.
func TestApplyRunStoresTheCatalogLimits(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			e := start(t, path, &stripeSide{pageSize: 2}, nil)
			ctx := context.Background()
			user := e.DB.CreateUser(t, "free@example.com")
			r := reconciler(e)

			if _, err := r.Run(ctx, reconcile.Options{}); err != nil {
				t.Fatal(err)
			}
			if n := countRows(t, e, `select count(*) from public.billing_plan_limits`); n != 0 {
				t.Errorf("a dry run stored %d plans", n)
			}
			if _, err := r.Run(ctx, reconcile.Options{Apply: true}); err != nil {
				t.Fatal(err)
			}
			if n, want := countRows(t, e, `select count(*) from public.billing_plan_limits`), len(e.Deps.Catalog.Plans); n != want {
				t.Errorf("billing_plan_limits has %d plans, want %d", n, want)
			}
			var allowed bool
			var limit int
			if err := e.DB.Pool.QueryRow(ctx, `select (u ->> 'allowed')::boolean, (u ->> 'limit')::int
				from public.billing_consume_usage($1::uuid, 'properties') u`, user).Scan(&allowed, &limit); err != nil {
				t.Fatal(err)
			}
			if !allowed || limit != 3 {
				t.Errorf("never-subscribed user: allowed %v, limit %d; want the free plan's 3", allowed, limit)
			}
		})
	}
}
