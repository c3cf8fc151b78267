package reconcile_test

import (
	"context"
	"fmt"
	"testing"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest/fntest"
)

// Emails follow transitions this system observed: a full reconcile that
// first sees 100 subscriptions that ended long ago and 50 active ones
// created long ago (a cutover), after a success-page sync of one of those
// users, sends no welcome and no end notice (before: 150 emails about old
// history).
func TestReconcileOfOldHistorySendsNoEmail(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	var subs []fntest.Sub
	for i := range 50 {
		u := e.DB.CreateUser(t, fmt.Sprintf("h%d@example.com", i))
		cus := fmt.Sprintf("cus_h%02d", i)
		fntest.LinkCustomer(t, e.DB, u, cus)
		subs = append(subs,
			fntest.Sub{ID: fmt.Sprintf("sub_h%02d_a", i), UserID: u, CustomerID: cus, Status: "canceled"},
			fntest.Sub{ID: fmt.Sprintf("sub_h%02d_b", i), UserID: u, CustomerID: cus, Status: "canceled"},
			fntest.Sub{ID: fmt.Sprintf("sub_h%02d_c", i), UserID: u, CustomerID: cus})
	}
	side.set(subs...)
	// The success-page sync of one user first, then the full run.
	for _, opt := range []reconcile.Options{{Apply: true, UserID: subs[0].UserID}, {Apply: true}} {
		rep, err := reconciler(e).Run(context.Background(), opt)
		if err != nil || !rep.OK() {
			t.Fatalf("%+v: %+v, %v", opt, rep.Errors, err)
		}
	}
	var stored, emails, held int
	if err := e.DB.Pool.QueryRow(context.Background(), `select (select count(*) from public.subscriptions),
		(select count(*) from public.email_outbox), (select count(*) from public.billing_held_emails)`).Scan(&stored, &emails, &held); err != nil {
		t.Fatal(err)
	}
	if stored != 150 || emails != 0 || held != 0 {
		t.Fatalf("%d subscriptions stored, %d emails, %d held; want 150, 0, 0", stored, emails, held)
	}
}
