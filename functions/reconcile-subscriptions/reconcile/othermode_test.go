package reconcile_test

import (
	"context"
	"net/http"
	"testing"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest/fntest"
)

// TestUserSyncIgnoresOtherModeRows: a user's reconcile (the success page's
// eager sync) asks Stripe only about the subscriptions of the deployment's
// own mode. A row of the other mode (a database shared by a test and a
// live deployment) belongs to a customer the deployment's key does not
// know; listing it failed the sync, and the row was reported missing.
func TestUserSyncIgnoresOtherModeRows(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "modes@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_own")
	own := fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_own", UserID: u, CustomerID: "cus_own"})
	fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_othermode", UserID: u, CustomerID: "cus_othermode", Livemode: true})
	side.set(fntest.Sub{ID: "sub_own", UserID: u, CustomerID: "cus_own", PeriodEnd: own.PeriodEnd})

	rep, err := reconciler(e).Run(context.Background(), reconcile.Options{UserID: u, Apply: true})
	if err != nil || !rep.OK() {
		t.Fatalf("%+v %v", rep.Errors, err)
	}
	for _, r := range e.Proxy.Requests(http.MethodGet, "/v1/subscriptions") {
		if c := r.Form.Get("customer"); c != "cus_own" || r.Path != "/v1/subscriptions" {
			t.Errorf("Stripe asked %s (customer %q); want only the list of cus_own", r.Path, c)
		}
	}
	for _, c := range rep.Changes {
		if c.SubscriptionID == "sub_othermode" {
			t.Errorf("the other mode's row is in the report: %+v", c)
		}
	}
	if row := fntest.ReadSubscription(t, e.DB, "sub_othermode"); row.Status != "active" {
		t.Errorf("the other mode's row changed: status %s", row.Status)
	}
}
