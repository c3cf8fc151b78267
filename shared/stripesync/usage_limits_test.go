package stripesync_test

// The limits consume_usage enforces agree with the ones check-subscription
// reports (access.Compute, the authority): for a user who never subscribed
// (the free plan's, from the catalog stored by billing_sync_catalog), and
// after a scheduled cancel's end even before the deleted webhook arrives.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/access"
	"billing/shared/stripesync"
)

type usageAnswer struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Limit   *int   `json:"limit"`
	Used    int    `json:"used"`
}

func consumeProperty(t *testing.T, db *testdb.DB, user string) usageAnswer {
	t.Helper()
	var raw []byte
	if err := db.Pool.QueryRow(context.Background(),
		`select public.billing_consume_usage($1::uuid, 'properties', 1)::text`, user).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var a usageAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func accessNow(t *testing.T, s *stripesync.Syncer, user string) access.Result {
	t.Helper()
	st, err := s.Store.UserState(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return access.Compute(st.AccessSubscriptions(), s.Catalog, time.Now())
}

// deliver applies one subscription event the way the webhook does when no
// tie is involved (Resolve with event.created, then Apply).
func deliver(t *testing.T, s *stripesync.Syncer, id, typ string, raw []byte, created time.Time) {
	t.Helper()
	ev := stripesync.Event{ID: id, Type: typ, Created: created, Object: raw}
	st, err := s.Resolve(raw, created, stripesync.SourceEvent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(context.Background(), &ev, nil, s.SubscriptionEffects(st)); err != nil {
		t.Fatal(err)
	}
}

// A cancel at period end: at the period end check-subscription drops the
// user to free (limit 3) "even if the deleted webhook has not arrived", and
// so does consume_usage, without another write.
func TestUsageLimitsFollowTheScheduledEnd(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	user := db.CreateUser(t, "u1@example.com")
	db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_u1' where id = $1`, user)
	end := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	raw := subJSON("sub_u1", "cus_u1", "active", "price_std_test", user, end, true)
	deliver(t, s, "evt_u1", "customer.subscription.updated", raw, time.Now().Add(-time.Minute).UTC().Truncate(time.Second))

	var validUntil time.Time
	if err := db.Pool.QueryRow(context.Background(), `select valid_until from public.usage_limits
		where user_id = $1 and counter = 'properties'`, user).Scan(&validUntil); err != nil {
		t.Fatal(err)
	}
	if !validUntil.Equal(end) {
		t.Errorf("valid_until = %v, want the period end %v", validUntil, end)
	}
	if a := consumeProperty(t, db, user); !a.Allowed || a.Limit == nil || *a.Limit != 10 {
		t.Fatalf("before the period end: %+v, want allowed under the standard limit 10", a)
	}

	time.Sleep(time.Until(end) + 300*time.Millisecond)
	acc := accessNow(t, s, user)
	if acc.Subscribed || acc.Plan != "free" || acc.Limits["properties"] == nil || *acc.Limits["properties"] != 3 {
		t.Fatalf("setup: after the period end check-subscription says %+v", acc)
	}
	var last usageAnswer
	for range 3 {
		last = consumeProperty(t, db, user)
	}
	if last.Allowed || last.Reason != "limit_reached" || last.Limit == nil || *last.Limit != 3 || last.Used != 3 {
		t.Fatalf("after the period end check-subscription reports free (properties 3), but consume_usage's 4th unit got %+v", last)
	}
}

// A user who never subscribed: check-subscription reports the free plan's
// limit (properties 3), and so does consume_usage once the catalog is
// stored (billing migrate, any apply, reconcile runs).
func TestFreeUserGetsTheFreePlanLimit(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	ctx := context.Background()
	user := db.CreateUser(t, "u2@example.com")
	acc := accessNow(t, s, user)
	if acc.Plan != "free" || acc.Limits["properties"] == nil || *acc.Limits["properties"] != 3 {
		t.Fatalf("setup: check-subscription says %+v", acc)
	}
	if a := consumeProperty(t, db, user); a.Allowed || a.Reason != "no_limit_row" {
		t.Fatalf("no catalog stored yet: %+v, want no_limit_row", a)
	}

	res, err := stripesync.SyncCatalog(ctx, s.Store, s.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Plans != len(s.Catalog.Plans) {
		t.Errorf("first sync = %+v, want changed with %d plans", res, len(s.Catalog.Plans))
	}
	if res, err := stripesync.SyncCatalog(ctx, s.Store, s.Catalog); err != nil || res.Changed {
		t.Errorf("second sync = %+v, %v; want unchanged", res, err)
	}

	for i := 1; i <= 3; i++ {
		if a := consumeProperty(t, db, user); !a.Allowed || a.Used != i || a.Limit == nil || *a.Limit != 3 {
			t.Fatalf("free user (limit 3 per check-subscription), unit %d: %+v", i, a)
		}
	}
	if a := consumeProperty(t, db, user); a.Allowed || a.Reason != "limit_reached" || a.Used != 3 {
		t.Fatalf("free user's 4th unit: %+v, want limit_reached", a)
	}
}
