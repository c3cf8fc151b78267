package reconcile_test

import (
	"context"
	"slices"
	"testing"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest/fntest"
)

// A second live subscription of a user (paid through two tabs) is in the
// reconcile report, best first, for the full run and the user's own.
func TestReportShowsASecondLiveSubscription(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "two@example.com")
	other := e.DB.CreateUser(t, "one@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_two")
	fntest.LinkCustomer(t, e.DB, other, "cus_one")
	a := fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_two_a", UserID: u, CustomerID: "cus_two"})
	b := fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_two_b", UserID: u, CustomerID: "cus_two", Plan: "premium",
		PeriodEnd: a.PeriodEnd.AddDate(0, 0, 3)})
	one := fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_one", UserID: other, CustomerID: "cus_one"})
	side.set(fntest.Sub{ID: "sub_two_a", UserID: u, CustomerID: "cus_two", PeriodEnd: a.PeriodEnd},
		fntest.Sub{ID: "sub_two_b", UserID: u, CustomerID: "cus_two", Plan: "premium", PeriodEnd: b.PeriodEnd},
		fntest.Sub{ID: "sub_one", UserID: other, CustomerID: "cus_one", PeriodEnd: one.PeriodEnd})
	for _, opt := range []reconcile.Options{{}, {Apply: true}, {UserID: u}} {
		rep, err := reconciler(e).Run(context.Background(), opt)
		if err != nil || !rep.OK() {
			t.Fatalf("%+v: %+v %v", opt, rep.Errors, err)
		}
		if len(rep.Concurrent) != 1 || !slices.Equal(rep.Concurrent[u], []string{"sub_two_b", "sub_two_a"}) {
			t.Fatalf("%+v: concurrent %v", opt, rep.Concurrent)
		}
	}
	if got := accessOf(t, e, u); got.Plan != "premium" {
		t.Fatalf("access %s, want the better subscription's premium", got.Plan)
	}
}
