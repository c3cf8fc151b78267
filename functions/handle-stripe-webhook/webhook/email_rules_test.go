package webhook_test

import (
	"context"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/shared/mail"
	"billing/shared/store"
)

// newMailEnv is a webhook whose emails go through shared/mail to an
// httptest SendGrid.
func newMailEnv(t *testing.T) (*env, *sendGridCounter) {
	t.Helper()
	e := newEnv(t)
	sg := newSendGridCounter(t)
	pg, err := store.OpenPG(context.Background(), e.db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	sender := mail.New(mail.Config{APIKey: "SG.test-key", APIBase: sg.URL, From: "billing@example.com",
		SiteURL: "https://app.example", Locale: "ja"}, pg, nil)
	e = newEnvOn(t, e.db, e.syncer.Catalog, func(o *webhook.Options) { o.Mailer = webhook.SenderMailer{Sender: sender} })
	return e, sg
}

// outboxStatus is the status of the email of a dedupe key ("none" without one).
func (e *env) outboxStatus(key string) any {
	e.t.Helper()
	return e.scalar(`select coalesce((select status from email_outbox where dedupe_key = $1), 'none')`, key)
}

func (sg *sendGridCounter) total() int {
	sg.mu.Lock()
	defer sg.mu.Unlock()
	n := 0
	for _, c := range sg.byRow {
		n += c
	}
	return n
}

// The first event of a subscriber from before the cutover (a renewal of a
// subscription created long ago) sends no welcome; a new subscription does.
func TestNoWelcomeOnFirstSightOfAnOldSubscriber(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	now := time.Now().UTC().Truncate(time.Second)
	old := activeSub("sub_cutover", "cus_cutover", now.AddDate(0, -7, 0))
	old.PeriodStart, old.PeriodEnd = now, now.AddDate(0, 1, 0)
	e.mustDeliver(envelope("evt_cutover", "customer.subscription.updated", v2023, now, false, old.object(v2023)))
	if s := e.outboxStatus("welcome:sub_cutover"); s != "none" {
		t.Fatalf("welcome for a subscriber of seven months: %v", s)
	}
	if p := e.scalar(`select active_plan from profiles where id = $1`, user1); p != "standard" {
		t.Fatalf("access %v", p)
	}
	ended := old
	ended.ID, ended.Status, ended.CanceledAt, ended.EndedAt = "sub_cutover_old", "canceled", ptr(now.AddDate(0, -2, 0)), ptr(now.AddDate(0, -2, 0))
	e.mustDeliver(envelope("evt_cutover_old", "customer.subscription.deleted", v2023, now, false, ended.object(v2023)))
	if s := e.outboxStatus("subscription_ended:sub_cutover_old"); s != "none" {
		t.Fatalf("end notice for a subscription that ended two months ago: %v", s)
	}
	fresh := activeSub("sub_new", "cus_cutover", now)
	e.mustDeliver(envelope("evt_new", "customer.subscription.created", v2023, now, false, fresh.object(v2023)))
	if s := e.outboxStatus("welcome:sub_new"); s != "pending" {
		t.Fatalf("welcome of a new subscription: %v", s)
	}
}

// An email whose state no longer holds when it is due is superseded, not
// sent: a late payment_failed of a paid or voided invoice, a cancellation
// notice after the resume.
func TestEmailOfAStateThatNoLongerHoldsIsSuperseded(t *testing.T) {
	e, sg := newMailEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	s := activeSub("sub_late", "cus_late", T)
	e.mustDeliver(envelope("evt_late_1", "customer.subscription.created", v2023, T, false, s.object(v2023)))

	t.Run("payment_failed after the invoice was paid", func(t *testing.T) {
		inv := invoice{ID: "in_late", Customer: "cus_late", Subscription: "sub_late", Status: "paid", Reason: "subscription_cycle", Attempt: 1}
		e.mustDeliver(envelope("evt_late_paid", "invoice.paid", v2023, T.Add(10*time.Second), false, inv.object(v2023)))
		inv.Status = "open"
		e.mustDeliver(envelope("evt_late_failed", "invoice.payment_failed", v2023, T.Add(5*time.Second), false, inv.object(v2023)))
		if st := e.outboxStatus("payment_failed:in_late:1"); st != "superseded" {
			t.Fatalf("status %v", st)
		}
		other := invoice{ID: "in_open", Customer: "cus_late", Subscription: "sub_late", Status: "open", Reason: "subscription_cycle", Attempt: 1}
		e.mustDeliver(envelope("evt_open_failed", "invoice.payment_failed", v2023, T.Add(11*time.Second), false, other.object(v2023)))
		if st := e.outboxStatus("payment_failed:in_open:1"); st != "sent" {
			t.Fatalf("an unpaid invoice's email: %v", st)
		}
	})
	t.Run("payment_failed after the invoice was voided", func(t *testing.T) {
		inv := invoice{ID: "in_void", Customer: "cus_late", Subscription: "sub_late", Status: "void", Reason: "subscription_cycle", Attempt: 1}
		e.mustDeliver(envelope("evt_void", "invoice.voided", v2023, T.Add(12*time.Second), false, inv.object(v2023)))
		inv.Status = "open"
		e.mustDeliver(envelope("evt_void_failed", "invoice.payment_failed", v2023, T.Add(6*time.Second), false, inv.object(v2023)))
		if st := e.outboxStatus("payment_failed:in_void:1"); st != "superseded" {
			t.Fatalf("status %v, want superseded: nothing is owed on a void invoice", st)
		}
	})
	t.Run("cancellation_scheduled after the resume", func(t *testing.T) {
		canceled := s
		canceled.CancelAtPeriodEnd, canceled.CanceledAt, canceled.Reason = true, ptr(T.Add(20*time.Second)), "cancellation_requested"
		resumed := s
		resumed.PeriodEnd = s.PeriodEnd.Add(time.Second) // not the created event's state
		e.mustDeliver(envelope("evt_late_resume", "customer.subscription.updated", v2023, T.Add(30*time.Second), false, resumed.object(v2023)))
		e.mustDeliver(envelope("evt_late_cancel", "customer.subscription.updated", v2023, T.Add(20*time.Second), false, canceled.object(v2023)))
		key := "cancellation_scheduled:sub_late:" + itoa(T.Add(20*time.Second).Unix())
		if st := e.outboxStatus(key); st != "superseded" {
			t.Fatalf("status %v", st)
		}
		again := resumed
		again.CancelAtPeriodEnd, again.CanceledAt, again.Reason = true, ptr(T.Add(40*time.Second)), "cancellation_requested"
		e.mustDeliver(envelope("evt_late_cancel2", "customer.subscription.updated", v2023, T.Add(40*time.Second), false, again.object(v2023)))
		if st := e.outboxStatus("cancellation_scheduled:sub_late:" + itoa(T.Add(40*time.Second).Unix())); st != "sent" {
			t.Fatalf("the cancel that holds: %v", st)
		}
	})
	// welcome, in_open's failure and the second cancel: nothing else.
	if n := sg.total(); n != 3 {
		t.Fatalf("%d emails reached SendGrid, want 3", n)
	}
}

// Two held cancellation emails of one event (its payload's and the state
// fetched for it) are both kept when the customer is linked (before: the
// release inserted one and deleted both).
func TestHeldEmailsOfOneEventAreAllReleased(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	s := activeSub("sub_held", "cus_held", T)
	s.UID = ""
	e.mustDeliver(envelope("evt_held_1", "customer.subscription.created", v2023, T, false, s.object(v2023)))
	payload, truth := s, s
	payload.CancelAtPeriodEnd, payload.CanceledAt, payload.Reason = true, ptr(T), "cancellation_requested"
	truth.CancelAtPeriodEnd, truth.CanceledAt, truth.Reason = true, ptr(T.Add(30*time.Second)), "cancellation_requested"
	e.truth.set("sub_held", mustJSON(truth.object(v2023)))
	e.mustDeliver(envelope("evt_held_2", "customer.subscription.updated", v2023, T, false, payload.object(v2023)))
	if n := e.count(`select count(*) from billing_held_emails where kind = 'cancellation_scheduled'`); n != 2 {
		t.Fatalf("%d held cancellation emails, want the payload's and the fetched state's", n)
	}
	e.mustDeliver(envelope("evt_held_cs", "checkout.session.completed", v2023, T.Add(40*time.Second), false,
		session("cs_held", "cus_held", "sub_held", user1, user1)))
	if n := e.count(`select count(*) from email_outbox where kind = 'cancellation_scheduled' and user_id = $1`, user1); n != 2 {
		t.Fatalf("%d cancellation emails released, want 2", n)
	}
	if n := e.count(`select count(*) from billing_held_emails`); n != 0 {
		t.Fatalf("%d emails still held", n)
	}
}

// A payment_failed email still pending (SendGrid failed; the outbox retries
// it) whose invoice is voided before the retry is due is not sent: nothing
// is owed any more. Before, invoice.voided was ignored and the retry sent
// "your payment failed, update your card".
func TestPaymentFailedOfAVoidedInvoiceIsNotRetried(t *testing.T) {
	e := newEnv(t) // its mailer sends nothing: the outbox rows stay pending
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	s := activeSub("sub_void", "cus_void", T)
	e.mustDeliver(envelope("evt_void_1", "customer.subscription.created", v2023, T, false, s.object(v2023)))
	inv := invoice{ID: "in_void", Customer: "cus_void", Subscription: "sub_void", Status: "open", Reason: "subscription_cycle", Attempt: 1}
	e.mustDeliver(envelope("evt_void_failed", "invoice.payment_failed", v2023, T.Add(5*time.Second), false, inv.object(v2023)))
	if st := e.outboxStatus("payment_failed:in_void:1"); st != "pending" {
		t.Fatalf("before the void: status %v, want pending", st)
	}
	inv.Status = "void"
	e.mustDeliver(envelope("evt_void_voided", "invoice.voided", v2023, T.Add(10*time.Second), false, inv.object(v2023)))
	if st := e.scalar(`select status from stripe_events where id = 'evt_void_voided'`); st == "ignored" {
		t.Errorf("invoice.voided recorded as %v", st)
	}

	sg := newSendGridCounter(t)
	pg, err := store.OpenPG(context.Background(), e.db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	sender := mail.New(mail.Config{APIKey: "SG.test-key", APIBase: sg.URL, From: "billing@example.com",
		SiteURL: "https://app.example"}, pg, nil)
	if _, err := sender.SendDue(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
	id := e.scalar(`select id from email_outbox where dedupe_key = 'payment_failed:in_void:1'`).(int64)
	sg.mu.Lock()
	n := sg.byRow[id]
	sg.mu.Unlock()
	if n != 0 {
		t.Errorf("the void invoice's payment_failed reached SendGrid %d time(s), want none", n)
	}
	if n := sg.total(); n != 1 {
		t.Errorf("%d emails reached SendGrid, want only the welcome", n)
	}
	if st := e.outboxStatus("payment_failed:in_void:1"); st != "superseded" {
		t.Errorf("status %v, want superseded", st)
	}
}

// TestWelcomeOfAnEndedSubscriptionIsNotSent: Stripe delivers a short-lived
// subscription's deletion before its creation (trap 6). The welcome ("your
// subscription is active") the late created event enqueues no longer holds
// when it is due: it is superseded, and only the end notice is sent. Before,
// it was sent after the end notice.
func TestWelcomeOfAnEndedSubscriptionIsNotSent(t *testing.T) {
	e, sg := newMailEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	s := activeSub("sub_short", "cus_short", T)
	ended := s
	ended.Status, ended.CanceledAt, ended.EndedAt, ended.Reason = "canceled", ptr(T.Add(20*time.Second)), ptr(T.Add(20*time.Second)), "cancellation_requested"
	e.mustDeliver(envelope("evt_short_deleted", "customer.subscription.deleted", v2023, T.Add(20*time.Second), false, ended.object(v2023)))
	e.mustDeliver(envelope("evt_short_created", "customer.subscription.created", v2023, T, false, s.object(v2023)))
	if st := e.scalar(`select status from subscriptions where id = 'sub_short'`); st != "canceled" {
		t.Fatalf("stored status %v, want canceled", st)
	}
	if st := e.outboxStatus("welcome:sub_short"); st != "superseded" {
		t.Errorf("welcome of an ended subscription: %v, want superseded", st)
	}
	if st := e.outboxStatus("subscription_ended:sub_short"); st != "sent" {
		t.Errorf("the end notice: %v, want sent", st)
	}
	if n := sg.total(); n != 1 {
		t.Errorf("%d emails reached SendGrid, want the end notice only", n)
	}
}
