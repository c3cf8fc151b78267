package webhook_test

import (
	"testing"
	"time"
)

// A subscription's price was retired from the catalog: its deleted event
// still lands (it answered 500 until Stripe gave up, and the row stayed
// active: paid access forever), the stored plan is kept.
func TestDeletedEventOfARetiredPriceLands(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	s := activeSub("sub_retired", "cus_retired", T)
	e.mustDeliver(envelope("evt_retired_c", "customer.subscription.created", v2023, T, false, s.object(v2023)))

	retired := newEnvOn(t, e.db, catalogWith(t, map[string]string{"STRIPE_STANDARD_PRICE_ID_TEST": "price_std_test_v2"}))
	s.Status, s.CanceledAt, s.EndedAt = "canceled", ptr(T.Add(time.Minute)), ptr(T.Add(time.Minute))
	out := retired.mustDeliver(envelope("evt_retired_d", "customer.subscription.deleted", v2023, T.Add(time.Minute), false, s.object(v2023)))
	if out["status"] != "processed" {
		t.Fatalf("%v", out)
	}
	if r := e.scalar(`select status || ':' || plan from subscriptions where id = 'sub_retired'`); r != "canceled:standard" {
		t.Fatalf("stored %v", r)
	}
	if p := e.scalar(`select active_plan from profiles where id = $1`, user1); p != "free" {
		t.Fatalf("the user keeps %v", p)
	}
}
