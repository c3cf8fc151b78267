package reconcile_test

import (
	"context"
	"testing"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest/fntest"
)

// A price retired from the catalog: a subscription stored with a plan on
// that price keeps it (grandfathered: only the real differences are
// reported and applied), and one that grants nothing is stored without a
// plan; neither is an error. A switch to an unknown price is one
// (TestSwitchToAnUnknownPriceIsAnError).
func TestRetiredPriceKeepsTheStoredPlan(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "r@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_r")
	stored := fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_r", UserID: u, CustomerID: "cus_r", PriceID: "price_retired"})
	side.set(
		fntest.Sub{ID: "sub_r", UserID: u, CustomerID: "cus_r", PriceID: "price_retired", PeriodEnd: stored.PeriodEnd, CancelAtPeriodEnd: true},
		fntest.Sub{ID: "sub_old", UserID: u, CustomerID: "cus_r", PriceID: "price_retired", Status: "canceled"},
	)
	for _, apply := range []bool{false, true} {
		rep, err := reconciler(e).Run(context.Background(), reconcile.Options{Apply: apply})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"sub_r": "cancel_at_period_end", "sub_old": "new"}
		if !rep.OK() || !equalMaps(changeKinds(rep), want) {
			t.Fatalf("apply=%v: changes %v errors %+v, want %v", apply, changeKinds(rep), rep.Errors, want)
		}
	}
	row := func(id string) string {
		var s string
		if err := e.DB.Pool.QueryRow(context.Background(), `select status || ':' || cancel_at_period_end || ':' ||
			coalesce(plan, '-') || ':' || coalesce(price_id, '-') from public.subscriptions where id = $1`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := row("sub_r"); s != "active:true:standard:price_retired" {
		t.Fatalf("sub_r stored %s, want the cancel with the standard plan kept", s)
	}
	if s := row("sub_old"); s != "canceled:false:-:price_retired" {
		t.Fatalf("sub_old stored %s, want canceled without a plan", s)
	}
	rep, err := reconciler(e).Run(context.Background(), reconcile.Options{})
	if err != nil || len(rep.Changes) != 0 || !rep.OK() {
		t.Fatalf("a second run: %+v, %v", rep, err)
	}
}

// A subscription stored on a known price that Stripe now has on a price the
// catalog does not know, in a granting state: an error, nothing applied
// (before issue 9 the switch kept the old plan silently).
func TestSwitchToAnUnknownPriceIsAnError(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "s@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_s")
	stored := fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_s", UserID: u, CustomerID: "cus_s"})
	side.set(fntest.Sub{ID: "sub_s", UserID: u, CustomerID: "cus_s", PriceID: "price_new_tier", PeriodEnd: stored.PeriodEnd})
	rep, err := reconciler(e).Run(context.Background(), reconcile.Options{Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Errors) != 1 || rep.Errors[0].SubscriptionID != "sub_s" {
		t.Fatalf("errors %+v, want one for sub_s", rep.Errors)
	}
	var price string
	if err := e.DB.Pool.QueryRow(context.Background(), `select price_id from public.subscriptions where id = 'sub_s'`).Scan(&price); err != nil || price != fntest.StandardPrice {
		t.Fatalf("stored price %q, %v", price, err)
	}
}
