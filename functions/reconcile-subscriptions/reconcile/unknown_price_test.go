package reconcile_test

import (
	"context"
	"testing"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest/fntest"
)

// A price retired from the catalog: a subscription stored with a plan keeps
// it (only the real differences are reported and applied), and one that
// grants nothing is stored without a plan; neither is an error.
func TestRetiredPriceKeepsTheStoredPlan(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "r@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_r")
	stored := fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_r", UserID: u, CustomerID: "cus_r"})
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
	if s := row("sub_r"); s != "active:true:standard:"+fntest.StandardPrice {
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
