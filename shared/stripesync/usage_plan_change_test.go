package stripesync_test

// Plan changes and usage (issue 13), through the webhook's path: a
// downgrade below what a user holds keeps their count and refuses more
// until releases bring it under the new cap; an upgrade raises the cap at
// once; a scheduled end drops to the free plan's cap at that exact second.
// check-subscription's usage (checksub.Compute) says what consume enforces.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/internal/testdb"
)

// usageCallAt calls billing_<fn>_usage ("consume", "release" or "get")
// on the user's properties at now, amount units (not used by get).
func usageCallAt(t *testing.T, db *testdb.DB, fn, user string, amount int, now time.Time) usageAnswer {
	t.Helper()
	call := `select public.billing_` + fn + `_usage(p_user_id => $1::uuid, p_counter => 'properties', p_amount => $2, p_now => $3)::text`
	args := []any{user, amount, now}
	if fn == "get" {
		call = `select public.billing_get_usage(p_user_id => $1::uuid, p_counter => 'properties', p_now => $2)::text`
		args = []any{user, now}
	}
	var raw string
	if err := db.Pool.QueryRow(context.Background(), call, args...).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var a usageAnswer
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestUsageAcrossPlanChanges(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	ctx := context.Background()
	user := db.CreateUser(t, "pc@example.com")
	db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_pc' where id = $1`, user)
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	now := time.Now()

	report := func() (used int, limit *int, remaining *int) {
		t.Helper()
		res, err := checksub.Compute(ctx, s.Store, s.Catalog, user, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c := res.Usage["properties"]
		if c.Kind != "cap" {
			t.Errorf("check-subscription: properties kind %q, want cap", c.Kind)
		}
		return c.Used, c.Limit, c.Remaining
	}

	// Premium: unlimited; 12 properties.
	deliver(t, s, "evt_pc1", "customer.subscription.created", subJSON("sub_pc", "cus_pc", "active", "price_prem_test", user, end, false), t0)
	if a := usageCallAt(t, db, "consume", user, 12, now); !a.Allowed || a.Used != 12 || a.Limit != nil {
		t.Fatalf("premium, 12 properties: %+v", a)
	}

	// Downgrade to standard (10): the 12 are kept, no 13th, none until under 10.
	deliver(t, s, "evt_pc2", "customer.subscription.updated", subJSON("sub_pc", "cus_pc", "active", "price_std_test", user, end, false), t0.Add(time.Minute))
	if a := usageCallAt(t, db, "consume", user, 1, now); a.Allowed || a.Reason != "limit_reached" || a.Used != 12 || a.Limit == nil || *a.Limit != 10 {
		t.Errorf("after the downgrade: %+v; want refused, 12 of 10 kept", a)
	}
	if used, limit, remaining := report(); used != 12 || limit == nil || *limit != 10 || remaining == nil || *remaining != 0 {
		t.Errorf("check-subscription after the downgrade: used %d, limit %v, remaining %v; want 12, 10, 0", used, limit, remaining)
	}
	usageCallAt(t, db, "release", user, 2, now) // 10 of 10: still refused
	if a := usageCallAt(t, db, "consume", user, 1, now); a.Allowed {
		t.Errorf("at 10 of 10: %+v; want refused", a)
	}
	usageCallAt(t, db, "release", user, 1, now)
	if a := usageCallAt(t, db, "consume", user, 1, now); !a.Allowed || a.Used != 10 {
		t.Errorf("back under the cap: %+v; want allowed", a)
	}

	// Upgrade to premium: unlimited at once.
	deliver(t, s, "evt_pc3", "customer.subscription.updated", subJSON("sub_pc", "cus_pc", "active", "price_prem_test", user, end, false), t0.Add(2*time.Minute))
	if a := usageCallAt(t, db, "consume", user, 5, now); !a.Allowed || a.Used != 15 || a.Limit != nil {
		t.Errorf("after the upgrade: %+v; want allowed, unlimited", a)
	}
	if used, limit, _ := report(); used != 15 || limit != nil {
		t.Errorf("check-subscription after the upgrade: used %d, limit %v; want 15, unlimited", used, limit)
	}

	// Standard again, cancelled at the period end: standard's 10 until the
	// second before the end, the free plan's 3 from the end on.
	deliver(t, s, "evt_pc4", "customer.subscription.updated", subJSON("sub_pc", "cus_pc", "active", "price_std_test", user, end, true), t0.Add(3*time.Minute))
	usageCallAt(t, db, "release", user, 10, now) // 5 held
	if a := usageCallAt(t, db, "get", user, 0, end.Add(-time.Second)); !a.Allowed || a.Limit == nil || *a.Limit != 10 {
		t.Errorf("a second before the end: %+v; want standard's 10", a)
	}
	if a := usageCallAt(t, db, "consume", user, 1, end); a.Allowed || a.Limit == nil || *a.Limit != 3 || a.Used != 5 {
		t.Errorf("at the end: %+v; want refused under the free plan's 3, 5 kept", a)
	}
}
