package reconcile_test

import (
	"testing"
	"time"

	"billing/internal/stripetest/fntest"
)

// TestSuccessPageSyncReadsASameSecondStateAgain (known trap 11): Checkout
// made the subscription incomplete and then active within one second; the
// webhook stored the incomplete state (customer.subscription.created, of
// this second), and the .updated event carrying "active" has not arrived.
// The success page calls reconcile once with the user's token: Stripe
// answers "active", but the read's lower bound is the stored state's
// second, so it cannot be ordered after it. The sync waits the bounded
// moment and reads it again, as cancel and resume do, and the page shows
// the access. Before, the read was dropped as stale and the page showed
// no access until the late event came.
func TestSuccessPageSyncReadsASameSecondStateAgain(t *testing.T) {
	side := &stripeSide{recent: map[string]bool{"sub_ss": true}}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "ss@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_ss")
	side.set(fntest.Sub{ID: "sub_ss", UserID: u, CustomerID: "cus_ss", Status: "active"})
	// Start early in a second so the stored state and Stripe's read share it.
	for time.Now().Nanosecond() > 200_000_000 {
		time.Sleep(10 * time.Millisecond)
	}
	fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_ss", UserID: u, CustomerID: "cus_ss", Status: "incomplete",
		StateAt: time.Now().UTC().Truncate(time.Second)})
	code, body := e.Post(t, e.Token(t, u, "ss@example.com"), `{}`)
	stored := fntest.ReadSubscription(t, e.DB, "sub_ss")
	t.Logf("answer %d subscribed=%v status=%v; stored status %s", code, body["subscribed"], body["status"], stored.Status)
	if code != 200 || body["subscribed"] != true || stored.Status != "active" {
		t.Fatalf("success-page sync: Stripe has the subscription active, but the answer is %d subscribed=%v status=%v (stored %s)",
			code, body["subscribed"], body["status"], stored.Status)
	}
}
