package stripesync_test

// A price the catalog does not know (retired, or launched before the
// catalog was updated) is an error only when the state would grant access
// to a subscription not stored with a plan of the catalog; otherwise the
// state applies and the stored plan is kept.

import (
	"context"
	"errors"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/plans"
	"billing/shared/stripesync"
)

// retiredCatalog is the test catalog after the standard price was replaced.
func retiredCatalog(t *testing.T, keepsPastDue bool) *plans.Catalog {
	t.Helper()
	cat, err := plans.Load("", "test", func(k string) string {
		return map[string]string{
			"STRIPE_STANDARD_PRICE_ID_TEST": "price_std_test_v2",
			"STRIPE_PREMIUM_PRICE_ID_TEST":  "price_prem_test",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	cat.PastDueKeepsAccess = keepsPastDue
	return cat
}

func storedPlan(t *testing.T, db *testdb.DB, id string) (plan, price *string) {
	t.Helper()
	if err := db.Pool.QueryRow(context.Background(),
		`select plan, price_id from public.subscriptions where id = $1`, id).Scan(&plan, &price); err != nil {
		t.Fatal(err)
	}
	return plan, price
}

// The price of a subscription is retired from the catalog. Its later
// events still apply with the stored plan: a scheduled cancel keeps the
// paid access until the end, and customer.subscription.deleted lands (it
// was a 500 until Stripe gave up, and the row stayed active: paid access
// forever).
func TestEventOfARetiredPriceStillApplies(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	user := db.CreateUser(t, "m1@example.com")
	db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_m1' where id = $1`, user)
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	T := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	applyEvent(t, s, "evt_m1_c", "customer.subscription.created",
		subJSON("sub_m1", "cus_m1", "active", "price_std_test", user, end, false), T)

	s2 := &stripesync.Syncer{Store: s.Store, Catalog: retiredCatalog(t, false)}

	// Still granting, stored with a known plan: applies, plan kept.
	if res := applyEvent(t, s2, "evt_m1_u", "customer.subscription.updated",
		subJSON("sub_m1", "cus_m1", "active", "price_std_test", user, end, true), T.Add(time.Minute)); res.Subscription != "applied" {
		t.Fatalf("scheduled cancel of a retired price = %+v", res)
	}
	if _, cancel := storedStatus(t, db, "sub_m1"); !cancel {
		t.Fatal("the scheduled cancel was not stored")
	}
	if plan, price := storedPlan(t, db, "sub_m1"); plan == nil || *plan != "standard" || price == nil || *price != "price_std_test" {
		t.Fatalf("stored plan %v, price %v; want the stored standard kept", plan, price)
	}
	if acc := subscribedNow(t, s2, user); !acc.Subscribed || acc.Plan != "standard" {
		t.Fatalf("access after the scheduled cancel = %v %s, want standard until the end", acc.Subscribed, acc.Plan)
	}

	deleted := subJSON("sub_m1", "cus_m1", "canceled", "price_std_test", user, end, false)
	_, err := s2.Resolve(deleted, T.Add(2*time.Minute), stripesync.SourceEvent)
	var upe *stripesync.UnknownPriceError
	if errors.As(err, &upe) {
		if acc := subscribedNow(t, s2, user); acc.Subscribed {
			t.Fatalf("deleted event rejected (%v); the user keeps %s access", err, acc.Plan)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if res := applyEvent(t, s2, "evt_m1_d", "customer.subscription.deleted", deleted, T.Add(2*time.Minute)); res.Subscription != "applied" || res.Status != "processed" {
		t.Fatalf("deleted event of a retired price = %+v", res)
	}
	if status, _ := storedStatus(t, db, "sub_m1"); status != "canceled" {
		t.Fatalf("stored status %s after the deleted event", status)
	}
	if acc := subscribedNow(t, s2, user); acc.Subscribed || acc.Plan != "free" {
		t.Fatalf("after the deleted event the user keeps %s (subscribed %v)", acc.Plan, acc.Subscribed)
	}
	var snapshot string
	if err := db.Pool.QueryRow(context.Background(), `select active_plan from public.profiles where id = $1`, user).Scan(&snapshot); err != nil || snapshot != "free" {
		t.Fatalf("profile snapshot %q, %v", snapshot, err)
	}
}

// An unknown price on a subscription without a known stored plan: an error
// (nothing written) when the state would grant access, else stored with
// the price and no plan.
func TestUnknownPriceWithoutAStoredPlan(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	user := db.CreateUser(t, "m2@example.com")
	db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_m2' where id = $1`, user)
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	s := syncer(t, db)
	keeps := &stripesync.Syncer{Store: s.Store, Catalog: retiredCatalog(t, true)}
	s = &stripesync.Syncer{Store: s.Store, Catalog: retiredCatalog(t, false)}
	rows := func() int64 {
		var n int64
		if err := db.Pool.QueryRow(ctx, `select count(*) from public.subscriptions where id = 'sub_m2'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	refused := func(s *stripesync.Syncer, status string, at time.Time) {
		t.Helper()
		_, err := s.ApplySubscription(ctx, subJSON("sub_m2", "cus_m2", status, "price_std_test", user, end, false), at, stripesync.SourceAPI)
		var upe *stripesync.UnknownPriceError
		if !errors.As(err, &upe) || upe.PriceID != "price_std_test" || upe.SubscriptionID != "sub_m2" {
			t.Fatalf("%s with an unknown price and no stored plan: %v, want an UnknownPriceError", status, err)
		}
	}
	for _, st := range []string{"active", "trialing"} {
		refused(s, st, t0)
	}
	refused(keeps, "past_due", t0)
	if rows() != 0 {
		t.Fatal("a refused state was written")
	}

	// past_due without past_due_keeps_access grants nothing: stored, no plan.
	if res, err := s.ApplySubscription(ctx, subJSON("sub_m2", "cus_m2", "past_due", "price_std_test", user, end, false), t0, stripesync.SourceAPI); err != nil || res.Subscription != "applied" {
		t.Fatalf("past_due with an unknown price: %+v, %v", res, err)
	}
	if plan, price := storedPlan(t, db, "sub_m2"); plan != nil || price == nil || *price != "price_std_test" {
		t.Fatalf("stored plan %v, price %v; want no plan and the price", plan, price)
	}
	if acc := subscribedNow(t, s, user); acc.Subscribed {
		t.Fatal("a subscription without a plan grants access")
	}
	// Stored, but with no plan of the catalog: granting is still refused.
	refused(s, "active", t0.Add(time.Second))
	if status, _ := storedStatus(t, db, "sub_m2"); status != "past_due" {
		t.Fatalf("stored status %s after a refused state", status)
	}
	// A stale state is not applied, so it is no error.
	if res, err := s.ApplySubscription(ctx, subJSON("sub_m2", "cus_m2", "active", "price_std_test", user, end, false), t0.Add(-time.Second), stripesync.SourceAPI); err != nil || res.Subscription != "stale" {
		t.Fatalf("an older granting state: %+v, %v", res, err)
	}
}

func TestCheckUnknownPrice(t *testing.T) {
	cat := retiredCatalog(t, false)
	keeps := retiredCatalog(t, true)
	state := func(status, price string) stripesync.State {
		st := stripesync.State{Subscription: stripesync.Subscription{ID: "sub_x", Status: status, PriceID: price}}
		if p, ok := cat.PlanForPrice(price); ok {
			st.Plan = p.ID
		} else {
			st.UnknownPrice = price
		}
		return st
	}
	tests := []struct {
		name        string
		cat         *plans.Catalog
		st          stripesync.State
		stored      bool
		plan, price string
		wantErr     bool
		wantPlan    string
		wantPrice   string
	}{
		{"known price", cat, state("active", "price_prem_test"), true, "standard", "price_old", false, "premium", "price_prem_test"},
		// Issue 9: a switch to an unknown price fails; staying on the stored
		// price (grandfathered) keeps the stored plan.
		{"granting, switch from a known plan", cat, state("active", "price_gone"), true, "standard", "price_old", true, "", ""},
		{"granting, grandfathered on its stored price", cat, state("active", "price_gone"), true, "standard", "price_gone", false, "standard", "price_gone"},
		{"granting, stored without a plan", cat, state("trialing", "price_gone"), true, "", "price_gone", true, "", ""},
		{"granting, stored with a plan the catalog lost", cat, state("active", "price_gone"), true, "gold", "price_gone", true, "", ""},
		{"granting, new", cat, state("active", "price_gone"), false, "", "", true, "", ""},
		{"past_due, new", cat, state("past_due", "price_gone"), false, "", "", false, "", "price_gone"},
		{"past_due keeping access, new", keeps, state("past_due", "price_gone"), false, "", "", true, "", ""},
		{"canceled, stored", cat, state("canceled", "price_gone"), true, "standard", "price_old", false, "standard", "price_old"},
		{"canceled, new", cat, state("canceled", "price_gone"), false, "", "", false, "", "price_gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stripesync.CheckUnknownPrice(tt.st, tt.cat, tt.stored, tt.plan, tt.price)
			var upe *stripesync.UnknownPriceError
			if tt.wantErr {
				if !errors.As(err, &upe) || upe.PriceID != "price_gone" {
					t.Fatalf("err = %v, want an UnknownPriceError", err)
				}
				return
			}
			if err != nil || got.Plan != tt.wantPlan || got.PriceID != tt.wantPrice {
				t.Fatalf("= plan %q price %q, %v; want %q %q", got.Plan, got.PriceID, err, tt.wantPlan, tt.wantPrice)
			}
		})
	}
}
