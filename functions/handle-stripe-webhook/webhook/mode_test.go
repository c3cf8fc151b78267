package webhook_test

import (
	"context"
	"testing"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/functions/handle-stripe-webhook/webhook"
	"billing/shared/plans"
	"billing/shared/store"
)

// A database shared by a staging (test mode) and a production (live mode)
// deployment: a 4242-card subscription of the user, stored by staging, must
// not give paid access, a paid snapshot or paid usage limits when
// production refreshes the user (before: every row counted, whatever its
// mode).
func TestTestModeRowsNeverGrantInALiveDeployment(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	s := activeSub("sub_staging", "cus_staging", T)
	e.mustDeliver(envelope("evt_staging", "customer.subscription.created", v2023, T, false, s.object(v2023)))
	if p := e.scalar(`select active_plan from profiles where id = $1`, user1); p != "standard" {
		t.Fatalf("staging's own view: %v", p)
	}

	liveCat, err := plans.Load("", plans.ModeLive, func(k string) string {
		return map[string]string{"STRIPE_STANDARD_PRICE_ID_LIVE": "price_std_live", "STRIPE_PREMIUM_PRICE_ID_LIVE": "price_prem_live"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	live := newEnvOn(t, e.db, liveCat, func(o *webhook.Options) { o.Mode = "live" })
	ended := sub{ID: "sub_prod", Customer: "cus_prod", Status: "canceled", Price: "price_std_live", Livemode: true,
		Created: T, PeriodStart: T, PeriodEnd: T.Add(24 * time.Hour), CanceledAt: ptr(T), EndedAt: ptr(T)}
	live.truth.set("sub_prod", mustJSON(ended.object(v2023)))
	cs := session("cs_prod", "cus_prod", "sub_prod", user1, user1)
	cs["livemode"] = true
	body := envelope("evt_prod_checkout", "checkout.session.completed", v2023, T.Add(time.Second), true, cs)
	if out := live.mustDeliver(body); out["status"] != "processed" {
		t.Fatalf("%v", out)
	}
	if p := e.scalar(`select active_plan || ':' || active_subscription_id from profiles where id = $1`, user1); p != "free:sub_prod" {
		t.Fatalf("production's snapshot: %v (a test-mode row counted)", p)
	}
	if l := e.scalar(`select limit_value from usage_limits where user_id = $1 and counter = 'properties'`, user1); l != int32(3) {
		t.Fatalf("production's usage limit %v (%T), want the free plan's 3", l, l)
	}
	res, err := checksub.Compute(context.Background(), store.New(live.caller.Caller), liveCat, user1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.Subscribed || res.Plan != "free" {
		t.Fatalf("production's check-subscription: %+v", res)
	}
}

// The checkout guard of one mode: staging's test-mode subscription does not
// block production's checkout, and blocks staging's (SQL contract of
// billing_checkout_lock(uuid, integer, boolean); create-checkout-session
// passes STRIPE_MODE).
func TestCheckoutGuardCountsOnlyItsMode(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	e.mustDeliver(envelope("evt_guard", "customer.subscription.created", v2023, T, false, activeSub("sub_guard", "cus_guard", T).object(v2023)))
	for _, tc := range []struct {
		live bool
		want string
	}{{true, "none"}, {false, "sub_guard"}} {
		got := e.scalar(`select coalesce(billing_checkout_lock($1, 30, $2) ->> 'blocking_subscription', 'none')`, user1, tc.live)
		e.db.MustExec(t, `delete from billing_checkout_locks`)
		if got != tc.want {
			t.Fatalf("livemode %v: blocking %v, want %s", tc.live, got, tc.want)
		}
	}
}
