package webhook_test

import (
	"encoding/json"
	"testing"
	"time"
)

func TestFailureThenRetryApplies(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	now := time.Now()
	body := envelope("evt_fail", "customer.subscription.created", v2023, now, false, activeSub("sub_fail", "cus_fail", now).object(v2023))

	t.Run("failure before the commit leaves a failed row and nothing else", func(t *testing.T) {
		e.caller.failBefore("evt_fail", 1)
		code, out := e.deliver(body)
		if code != 503 || out["error"] != "unavailable" {
			t.Fatalf("%d %v", code, out)
		}
		if s := e.scalar(`select status || ':' || (error is not null)::text from stripe_events where id = 'evt_fail'`); s != "failed:true" {
			t.Fatalf("event row %v", s)
		}
		if n := e.count(`select count(*) from subscriptions`) + e.count(`select count(*) from email_outbox`); n != 0 {
			t.Fatalf("a failed event applied %d rows", n)
		}
	})
	t.Run("the retry applies it", func(t *testing.T) {
		out := e.mustDeliver(body)
		if out["status"] != "processed" {
			t.Fatalf("%v", out)
		}
		if s := e.scalar(`select status || ':' || attempts || ':' || (error is null)::text from stripe_events where id = 'evt_fail'`); s != "processed:2:true" {
			t.Fatalf("event row %v", s)
		}
		if s := e.scalar(`select active_plan from profiles where id = $1`, user1); s != "standard" {
			t.Fatalf("snapshot plan %v", s)
		}
	})

	t.Run("failure after the commit: the redelivery is a duplicate, the email is enqueued once", func(t *testing.T) {
		later := now.Add(3 * time.Second)
		s := activeSub("sub_fail", "cus_fail", now)
		s.CancelAtPeriodEnd, s.CanceledAt, s.Reason = true, ptr(later), "cancellation_requested"
		body := envelope("evt_fail_after", "customer.subscription.updated", v2023, later, false, s.object(v2023))
		e.caller.failAfter("evt_fail_after", 1)
		if code, out := e.deliver(body); code != 503 {
			t.Fatalf("%d %v", code, out)
		}
		if s := e.scalar(`select status from stripe_events where id = 'evt_fail_after'`); s != "processed" {
			t.Fatalf("a committed event must stay processed, got %v", s)
		}
		if out := e.mustDeliver(body); out["status"] != "duplicate" {
			t.Fatalf("redelivery: %v", out)
		}
		var id int64
		if err := e.db.Pool.QueryRow(t.Context(), `select id from email_outbox where kind = 'cancellation_scheduled'`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if e.mailer.count(id) != 0 || e.scalar(`select status from email_outbox where id = $1`, id) != "pending" {
			t.Fatalf("the row must stay pending for the reconcile job")
		}
	})
}

func TestOutOfOrder(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)

	t.Run("updated before created", func(t *testing.T) {
		created := activeSub("sub_ooo", "cus_ooo", t0)
		updated := created
		updated.Price, updated.CancelAtPeriodEnd, updated.CanceledAt = pricePremium, true, ptr(t0.Add(5*time.Second))
		if out := e.mustDeliver(envelope("evt_ooo_2", "customer.subscription.updated", v2023, t0.Add(5*time.Second), false, updated.object(v2023))); out["status"] != "processed" {
			t.Fatalf("%v", out)
		}
		e.mustDeliver(envelope("evt_ooo_1", "customer.subscription.created", v2023, t0, false, created.object(v2023)))
		if s := e.scalar(`select plan || ':' || cancel_at_period_end from subscriptions where id = 'sub_ooo'`); s != "premium:true" {
			t.Fatalf("the older created event overwrote the update: %v", s)
		}
		if n := e.count(`select count(*) from email_outbox where dedupe_key in ('welcome:sub_ooo', $1)`,
			"cancellation_scheduled:sub_ooo:"+jsonInt(t0.Add(5*time.Second).Unix())); n != 2 {
			t.Fatalf("emails: %d", n)
		}
	})

	t.Run("invoice.paid before subscription.created fetches the subscription", func(t *testing.T) {
		s := activeSub("sub_inv_first", "cus_inv_first", t0)
		raw, _ := json.Marshal(s.object(v2023))
		e.truth.set(s.ID, raw)
		inv := invoice{ID: "in_first", Customer: s.Customer, Subscription: s.ID, Status: "paid", Reason: "subscription_create", Attempt: 1}
		before := e.truth.fetches.Load()
		e.mustDeliver(envelope("evt_inv_first", "invoice.paid", vBasil, t0.Add(time.Second), false, inv.object(vBasil)))
		if e.truth.fetches.Load() != before+1 {
			t.Fatalf("the subscription was not fetched")
		}
		if st := e.scalar(`select status from subscriptions where id = $1`, s.ID); st != "active" {
			t.Fatalf("fetched subscription: %v", st)
		}
		out := e.mustDeliver(envelope("evt_created_late", "customer.subscription.created", v2023, t0, false, s.object(v2023)))
		if out["status"] != "processed" || e.scalar(`select status from stripe_events where id = 'evt_created_late'`) != "processed" {
			t.Fatalf("a stale event is still recorded as processed: %v", out)
		}
	})

	t.Run("same-second events are ordered by a fetch", func(t *testing.T) {
		a := activeSub("sub_tie", "cus_tie", t0)
		b := a
		b.Price = pricePremium
		raw, _ := json.Marshal(b.object(vBasil))
		e.truth.set(a.ID, raw)
		before := e.truth.fetches.Load()
		e.mustDeliver(envelope("evt_tie_b", "customer.subscription.updated", vBasil, t0, false, b.object(vBasil)))
		e.mustDeliver(envelope("evt_tie_a", "customer.subscription.created", vBasil, t0, false, a.object(vBasil)))
		if e.truth.fetches.Load() != before+1 {
			t.Fatalf("fetches: %d", e.truth.fetches.Load()-before)
		}
		if p := e.scalar(`select plan from subscriptions where id = 'sub_tie'`); p != "premium" {
			t.Fatalf("the same-second created event won: %v", p)
		}
	})
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestCustomerLink(t *testing.T) {
	e := newEnv(t)
	const user2 = "22222222-2222-4222-8222-222222222222"
	const user3 = "33333333-3333-4333-8333-333333333333"
	createUser(t, e.db, user1, "u1@example.com")
	createUser(t, e.db, user2, "u2@example.com")
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)

	// The subscription arrives first, without metadata: stored by customer.
	s := activeSub("sub_link", "cus_link", t0)
	s.UID = ""
	e.mustDeliver(envelope("evt_link_sub", "customer.subscription.created", v2023, t0, false, s.object(v2023)))
	if u := e.scalar(`select user_id from subscriptions where id = 'sub_link'`); u != nil {
		t.Fatalf("user before the link: %v", u)
	}
	if n := e.count(`select count(*) from billing_held_emails where customer_id = 'cus_link'`); n != 1 {
		t.Fatalf("held welcome: %d", n)
	}
	// The checkout links user and customer, attaches the subscription and
	// sends the held welcome.
	out := e.mustDeliver(envelope("evt_link_cs", "checkout.session.completed", v2023, t0.Add(time.Second), false,
		session("cs_link", "cus_link", "sub_link", user1, user1)))
	if out["status"] != "processed" {
		t.Fatalf("%v", out)
	}
	if s := e.scalar(`select stripe_customer_id || ':' || active_plan from profiles where id = $1`, user1); s != "cus_link:standard" {
		t.Fatalf("profile %v", s)
	}
	var id int64
	if err := e.db.Pool.QueryRow(t.Context(), `select id from email_outbox where dedupe_key = 'welcome:sub_link' and user_id = $1`, user1).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if e.mailer.count(id) != 1 || e.count(`select count(*) from billing_held_emails`) != 0 {
		t.Fatalf("the held welcome was not released and sent once")
	}

	t.Run("a customer of another user is never relinked", func(t *testing.T) {
		e.mustDeliver(envelope("evt_link_other", "checkout.session.completed", v2023, t0.Add(2*time.Second), false,
			session("cs_other", "cus_link", "sub_link", user2, "")))
		if c := e.scalar(`select coalesce(stripe_customer_id, '') from profiles where id = $1`, user2); c != "" {
			t.Fatalf("user2 got customer %v", c)
		}
		if u := e.scalar(`select user_id::text from subscriptions where id = 'sub_link'`); u != user1 {
			t.Fatalf("subscription moved to %v", u)
		}
	})
	t.Run("a client_reference_id without our metadata (a Payment Link) links nobody", func(t *testing.T) {
		createUser(t, e.db, user3, "victim@example.com")
		e.mustDeliver(envelope("evt_link_paylink", "checkout.session.completed", v2023, t0.Add(3*time.Second), false,
			session("cs_paylink", "cus_attacker", "", user3, "")))
		if c := e.scalar(`select coalesce(stripe_customer_id, '') from profiles where id = $1`, user3); c != "" {
			t.Fatalf("the victim was linked to %v", c)
		}
	})
	t.Run("a checkout without a user ID links nothing, even with a known email", func(t *testing.T) {
		cs := session("cs_anon", "cus_anon", "", "not-a-uuid", "")
		cs["customer_email"] = "u2@example.com"
		cs["customer_details"] = map[string]any{"email": "u2@example.com"}
		out := e.mustDeliver(envelope("evt_link_anon", "checkout.session.completed", v2023, t0.Add(3*time.Second), false, cs))
		if out["status"] != "processed" || e.count(`select count(*) from profiles where stripe_customer_id = 'cus_anon'`) != 0 {
			t.Fatalf("%v", out)
		}
	})
	t.Run("a payment-mode checkout is ignored", func(t *testing.T) {
		cs := session("cs_pay", "cus_pay", "", user2, "")
		cs["mode"] = "payment"
		if out := e.mustDeliver(envelope("evt_pay", "checkout.session.completed", v2023, t0, false, cs)); out["status"] != "ignored" {
			t.Fatalf("%v", out)
		}
	})
}

func TestUnknownPriceFailsUntilTheCatalogKnowsIt(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	now := time.Now()
	s := activeSub("sub_newprice", "cus_newprice", now)
	s.Price = "price_launched_yesterday"
	body := envelope("evt_newprice", "customer.subscription.created", v2023, now, false, s.object(v2023))
	code, out := e.deliver(body)
	if code != 500 || out["error"] != "unknown_price" {
		t.Fatalf("%d %v", code, out)
	}
	if s := e.scalar(`select status || ':' || (error like '%price_launched_yesterday%')::text from stripe_events where id = 'evt_newprice'`); s != "failed:true" {
		t.Fatalf("event row %v", s)
	}
	if n := e.count(`select count(*) from subscriptions`); n != 0 {
		t.Fatalf("an unknown price applied %d rows (never a silent free plan)", n)
	}
	// The catalog is fixed (premium's price is the new one); Stripe retries.
	fixed := newEnvOn(t, e.db, catalogWith(t, map[string]string{"STRIPE_PREMIUM_PRICE_ID_TEST": "price_launched_yesterday"}))
	if out := fixed.mustDeliver(body); out["status"] != "processed" {
		t.Fatalf("%v", out)
	}
	if p := e.scalar(`select plan from subscriptions where id = 'sub_newprice'`); p != "premium" {
		t.Fatalf("plan %v", p)
	}
}

func TestDowngradeLowersLimitsAndKeepsUsage(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	s := activeSub("sub_dg", "cus_dg", t0)
	s.Price = pricePremium
	e.mustDeliver(envelope("evt_dg_1", "customer.subscription.created", v2023, t0, false, s.object(v2023)))
	if l := e.scalar(`select limit_value from usage_limits where user_id = $1 and counter = 'properties'`, user1); l != nil {
		t.Fatalf("premium is unlimited, got %v", l)
	}
	e.db.MustExec(t, `select public.billing_consume_usage($1::uuid, 'properties', 7)`, user1)

	s.Price = priceStandard
	e.mustDeliver(envelope("evt_dg_2", "customer.subscription.updated", v2023, t0.Add(time.Second), false, s.object(v2023)))
	if r := e.scalar(`select limit_value || '/' || used from usage_limits where user_id = $1 and counter = 'properties'`, user1); r != "10/7" {
		t.Fatalf("after the downgrade: %v", r)
	}
	s.Status, s.EndedAt, s.CanceledAt = "canceled", ptr(t0.Add(2*time.Second)), ptr(t0.Add(2*time.Second))
	e.mustDeliver(envelope("evt_dg_3", "customer.subscription.deleted", v2023, t0.Add(2*time.Second), false, s.object(v2023)))
	if r := e.scalar(`select limit_value || '/' || used from usage_limits where user_id = $1 and counter = 'properties'`, user1); r != "3/7" {
		t.Fatalf("after the end (free plan): %v", r)
	}
	if r := e.scalar(`select active_plan || ':' || active_status from profiles where id = $1`, user1); r != "free:canceled" {
		t.Fatalf("snapshot %v", r)
	}
	if n := e.count(`select count(*) from email_outbox where dedupe_key = 'subscription_ended:sub_dg'`); n != 1 {
		t.Fatalf("ended email: %d", n)
	}
}
