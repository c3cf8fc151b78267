package webhook_test

import (
	"testing"
	"time"
)

// A user already linked to customer A pays through a session on customer
// B (an operator relink, a checkout made elsewhere). The subscription on B
// must belong to the user whichever of its events arrives first: before,
// the checkout-first order stored it with no user for good (free plan).
func TestSecondCustomerLinksInEitherOrder(t *testing.T) {
	for _, checkoutFirst := range []bool{false, true} {
		name := "subscription first"
		if checkoutFirst {
			name = "checkout first"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			createUser(t, e.db, user1, "u1@example.com")
			e.db.MustExec(t, `update profiles set stripe_customer_id = 'cus_first' where id = $1`, user1)
			T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
			s := activeSub("sub_second_cus", "cus_second", T)
			s.UID = "" // made outside our checkout: no metadata on the subscription
			created := envelope("evt_sc_created", "customer.subscription.created", v2023, T, false, s.object(v2023))
			checkout := envelope("evt_sc_checkout", "checkout.session.completed", v2023, T.Add(2*time.Second), false,
				session("cs_second", "cus_second", "sub_second_cus", user1, user1))
			e.truth.set("sub_second_cus", mustJSON(s.object(v2023)))
			order := [][]byte{created, checkout}
			if checkoutFirst {
				order = [][]byte{checkout, created}
			}
			for _, b := range order {
				e.mustDeliver(b)
			}
			if u := e.scalar(`select coalesce(user_id::text, 'none') from subscriptions where id = 'sub_second_cus'`); u != user1 {
				t.Fatalf("subscription owner %v, want %s", u, user1)
			}
			if p := e.scalar(`select active_plan || ':' || stripe_customer_id from profiles where id = $1`, user1); p != "standard:cus_first" {
				t.Fatalf("profile %v (the customer must not be relinked, the plan must be paid)", p)
			}
			if n := e.count(`select count(*) from email_outbox where kind = 'welcome' and user_id = $1`, user1); n != 1 {
				t.Fatalf("%d welcome emails for the user", n)
			}
		})
	}
}
