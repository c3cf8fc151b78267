package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/shared/mail"
	"billing/shared/store"
)

// slowStripe answers a fetch after delay, or when the request's context
// ends.
type slowStripe struct {
	*truth
	delay time.Duration
}

func (s slowStripe) FetchSubscription(ctx context.Context, id string) ([]byte, time.Time, error) {
	select {
	case <-time.After(s.delay):
		return s.truth.FetchSubscription(ctx, id)
	case <-ctx.Done():
		return nil, time.Time{}, ctx.Err()
	}
}

// The webhook answers within its time budget, Stripe fetches and mail
// included (before: a slow fetch or a slow SendGrid held the answer as long
// as they took, past Stripe's 20 s timeout, and Stripe retried an event
// that had been applied).
func TestWebhookAnswersWithinItsBudget(t *testing.T) {
	t.Run("a slow Stripe fetch fails the event with 503, recorded, in time", func(t *testing.T) {
		tr := newTruth()
		e := newEnv(t, func(o *webhook.Options) {
			o.Budget = 1500 * time.Millisecond
			o.Fetcher = slowStripe{truth: tr, delay: 6 * time.Second}
		})
		e.truth = tr
		createUser(t, e.db, user1, "u1@example.com")
		T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
		s := activeSub("sub_slow", "cus_slow", T)
		e.mustDeliver(envelope("evt_slow_1", "customer.subscription.created", v2023, T, false, s.object(v2023)))
		tr.set("sub_slow", mustJSON(s.object(v2023)))
		s.CancelAtPeriodEnd = true
		start := time.Now()
		code, _ := e.deliver(envelope("evt_slow_2", "customer.subscription.updated", v2023, T, false, s.object(v2023)))
		if took := time.Since(start); code != http.StatusServiceUnavailable || took > 2500*time.Millisecond {
			t.Fatalf("answered %d after %v; want 503 within the 1.5 s budget", code, took)
		}
		if st := e.scalar(`select status from stripe_events where id = 'evt_slow_2'`); st != "failed" {
			t.Fatalf("event row %v", st)
		}
	})
	t.Run("a slow SendGrid: the answer comes after the mail budget, the email stays pending", func(t *testing.T) {
		release := make(chan struct{})
		sg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
			w.WriteHeader(http.StatusAccepted)
		}))
		t.Cleanup(sg.Close)
		t.Cleanup(func() { close(release) })
		e := newEnv(t)
		pg, err := store.OpenPG(context.Background(), e.db.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pg.Close)
		sender := mail.New(mail.Config{APIKey: "SG.test-key", APIBase: sg.URL, From: "billing@example.com"}, pg, nil)
		e = newEnvOn(t, e.db, e.syncer.Catalog, func(o *webhook.Options) { o.Mailer = webhook.SenderMailer{Sender: sender} })
		createUser(t, e.db, user1, "u1@example.com")
		T := time.Now().UTC().Truncate(time.Second)
		start := time.Now()
		out := e.mustDeliver(envelope("evt_slow_mail", "customer.subscription.created", v2023, T, false, activeSub("sub_mail", "cus_mail", T).object(v2023)))
		if took := time.Since(start); out["status"] != "processed" || took > webhook.DefaultMailTimeout+time.Second {
			t.Fatalf("%v after %v; want an answer within the %v mail budget", out, took, webhook.DefaultMailTimeout)
		}
		if st := e.scalar(`select status from email_outbox where dedupe_key = 'welcome:sub_mail'`); st != "pending" {
			t.Fatalf("the email is %v; it must stay pending for the reconcile job", st)
		}
	})
}
