package dbcontract_test

import (
	"testing"

	"billing/internal/testdb"
)

// A paid user's limits follow a newly stored catalog at once: no webhook
// event rewrites their rows in between (before issue 13 the limit came from
// the row the last event wrote, 10, while check-subscription reported 20).
func TestNewCatalogAppliesToPaidUsersWithoutAnEvent(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	const before = `{"free_plan": "free", "time_zone": "Asia/Tokyo",
		"plans": {"free": {"paid": false, "limits": {"properties": 3}},
		          "standard": {"paid": true, "limits": {"properties": 10}}}}`
	const after = `{"free_plan": "free", "time_zone": "Asia/Tokyo",
		"plans": {"free": {"paid": false, "limits": {"properties": 3}},
		          "standard": {"paid": true, "limits": {"properties": 20}}}}`
	syncCatalog(t, db, before)
	user := db.CreateUser(t, "")
	db.MustExec(t, `insert into public.subscriptions (id, user_id, customer_id, status, price_id, plan,
		current_period_end, stripe_created, state_at)
		values ('sub_cc', $1, 'cus_cc', 'active', 'price_std', 'standard', now() + interval '20 days', now(), now())`, user)
	db.MustExec(t, `select public.billing_refresh_user($1, $2::jsonb)`, user, before)
	if got := usageCall(t, db, "get", user, "properties", "2026-11-20T00:00:00Z"); num(got.Limit) != 10 {
		t.Fatalf("standard under the first catalog: limit %v, want 10", num(got.Limit))
	}

	syncCatalog(t, db, after)
	if got := usageCall(t, db, "get", user, "properties", "2026-11-20T00:00:00Z"); num(got.Limit) != 20 {
		t.Errorf("standard after the new catalog is stored: limit %v, want 20", num(got.Limit))
	}
}
