package stripesync_test

import (
	"context"
	"testing"
	"time"

	"billing/internal/testdb"
)

// rowVersions is the xmin (the writing transaction) of the user's
// snapshot row, usage-limit rows and usage-plan row: a row that was
// rewritten has a new one.
func rowVersions(t *testing.T, db *testdb.DB, user string) (profile, limits, plan string) {
	t.Helper()
	ctx := context.Background()
	if err := db.Pool.QueryRow(ctx, `select xmin::text from public.profiles where id = $1`, user).Scan(&profile); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `select coalesce(string_agg(xmin::text, ',' order by counter), '')
		from public.usage_limits where user_id = $1`, user).Scan(&limits); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `select coalesce(max(xmin::text), '') from public.billing_usage_plans where user_id = $1`, user).
		Scan(&plan); err != nil {
		t.Fatal(err)
	}
	return profile, limits, plan
}

// TestApplyWritesOnlyChanges: an event whose state leaves the user's
// snapshot and limits as they are (a later copy of the same subscription)
// rewrites none of the user's snapshot, usage-limit and usage-plan rows;
// a cancel rewrites the snapshot (not the limits: the plan is the same)
// and a plan change rewrites the limits too, each with the new values.
func TestApplyWritesOnlyChanges(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	user := db.CreateUser(t, "writes@example.com")
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	T := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

	applyEvent(t, s, "evt_w1", "customer.subscription.created", subJSON("sub_w", "cus_w", "active", "price_std_test", user, end, false), T)
	p0, l0, u0 := rowVersions(t, db, user)
	if l0 == "" || u0 == "" {
		t.Fatalf("no usage rows after the first event (limits %q, plan %q): the test proves nothing", l0, u0)
	}

	applyEvent(t, s, "evt_w2", "customer.subscription.updated", subJSON("sub_w", "cus_w", "active", "price_std_test", user, end, false), T.Add(time.Second))
	if p, l, u := rowVersions(t, db, user); p != p0 || l != l0 || u != u0 {
		t.Fatalf("an unchanged state rewrote rows: profile %s->%s, limits %s->%s, plan %s->%s", p0, p, l0, l, u0, u)
	}

	applyEvent(t, s, "evt_w3", "customer.subscription.updated", subJSON("sub_w", "cus_w", "active", "price_std_test", user, end, true), T.Add(2*time.Second))
	p1, _, _ := rowVersions(t, db, user)
	if p1 == p0 {
		t.Fatal("a cancel did not rewrite the snapshot")
	}
	if _, cancel := storedStatus(t, db, "sub_w"); !cancel {
		t.Fatal("the cancel is not stored")
	}
	var snapCancel bool
	if err := db.Pool.QueryRow(context.Background(), `select cancel_at_period_end from public.profiles where id = $1`, user).Scan(&snapCancel); err != nil || !snapCancel {
		t.Fatalf("snapshot cancel_at_period_end = %v (%v), want true", snapCancel, err)
	}

	applyEvent(t, s, "evt_w4", "customer.subscription.updated", subJSON("sub_w", "cus_w", "active", "price_prem_test", user, end, true), T.Add(3*time.Second))
	_, l2, u2 := rowVersions(t, db, user)
	if l2 == l0 || u2 == u0 {
		t.Fatalf("a plan change did not rewrite the limits (limits %s->%s, plan %s->%s)", l0, l2, u0, u2)
	}
	var plan string
	var limit *int
	if err := db.Pool.QueryRow(context.Background(), `select up.plan, ul.limit_value from public.billing_usage_plans up
		join public.usage_limits ul on ul.user_id = up.user_id and ul.counter = 'properties' where up.user_id = $1`, user).
		Scan(&plan, &limit); err != nil {
		t.Fatal(err)
	}
	if plan != "premium" || limit != nil {
		t.Fatalf("usage plan %q, properties limit %v; want premium, unlimited", plan, limit)
	}
}
