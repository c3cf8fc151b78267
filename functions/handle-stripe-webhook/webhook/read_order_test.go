package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
)

// An event in the second of the stored state is fetched; a fetch is
// stamped with a lower bound of Stripe's read (one second before its Date
// here), so right after the event's second it is not later than the
// stored state and nothing is written. The handler waits until a new read
// can be later, fetches again, and that one applies.
func TestFetchInTheStoredSecondIsFetchedAgain(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().UTC().Truncate(time.Second)
	a := activeSub("sub_refetch", "cus_refetch", T)
	b := a
	b.Price = pricePremium
	raw, _ := json.Marshal(b.object(vBasil))
	e.truth.set(a.ID, raw)
	e.mustDeliver(envelope("evt_refetch_a", "customer.subscription.created", vBasil, T, false, a.object(vBasil)))

	before := e.truth.fetches.Load()
	start := time.Now()
	out := e.mustDeliver(envelope("evt_refetch_b", "customer.subscription.updated", vBasil, T, false, b.object(vBasil)))
	if out["status"] != "processed" {
		t.Fatalf("%v", out)
	}
	if n := e.truth.fetches.Load() - before; n != 2 {
		t.Fatalf("%d fetches, want 2 (the first in the stored second)", n)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("fetched again after %v, want at least a second", waited)
	}
	if p := e.scalar(`select plan || ':' || (state_at > $1)::text from subscriptions where id = $2`, T, a.ID); p != "premium:true" {
		t.Fatalf("stored %v, want the second fetch's premium stamped after %s", p, T)
	}
	if s := e.scalar(`select status from stripe_events where id = 'evt_refetch_b'`); s != "processed" {
		t.Fatalf("event row %v", s)
	}
}

// stuckFetcher answers like truth but, while stuck, stamps every answer
// with at: never later than a state stored at that second.
type stuckFetcher struct {
	*truth
	at    time.Time
	stuck atomic.Bool
}

func (f *stuckFetcher) FetchSubscription(ctx context.Context, id string) ([]byte, time.Time, error) {
	raw, at, err := f.truth.FetchSubscription(ctx, id)
	if err == nil && f.stuck.Load() {
		at = f.at
	}
	return raw, at, err
}

// When the second fetch is not later than the stored state either, the
// event fails with 503 and is recorded failed, not processed: Stripe's
// redelivery applies it.
func TestFetchNeverLaterFailsForARedelivery(t *testing.T) {
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	f := &stuckFetcher{at: T}
	e := newEnv(t, func(o *webhook.Options) { o.Fetcher = f })
	f.truth = e.truth
	f.stuck.Store(true)
	createUser(t, e.db, user1, "u1@example.com")
	a := activeSub("sub_stuck", "cus_stuck", T)
	b := a
	b.CancelAtPeriodEnd, b.CanceledAt = true, ptr(T)
	raw, _ := json.Marshal(b.object(v2023))
	e.truth.set(a.ID, raw)
	e.mustDeliver(envelope("evt_stuck_a", "customer.subscription.created", v2023, T, false, a.object(v2023)))

	body := envelope("evt_stuck_b", "customer.subscription.updated", v2023, T, false, b.object(v2023))
	before := e.truth.fetches.Load()
	code, out := e.deliver(body)
	if code != http.StatusServiceUnavailable || out["error"] != "unavailable" {
		t.Fatalf("%d %v, want 503 unavailable", code, out)
	}
	if n := e.truth.fetches.Load() - before; n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	if s := e.scalar(`select status from stripe_events where id = 'evt_stuck_b'`); s != "failed" {
		t.Fatalf("event row %v, want failed (not processed)", s)
	}
	if c := e.scalar(`select cancel_at_period_end from subscriptions where id = $1`, a.ID); c != false {
		t.Fatalf("cancel_at_period_end %v after a failed event", c)
	}
	if n := e.count(`select count(*) from email_outbox where kind = 'cancellation_scheduled'`); n != 0 {
		t.Fatalf("%d emails of a failed event", n)
	}

	// Stripe delivers it again later; Stripe's reads are later by then.
	f.stuck.Store(false)
	if out := e.mustDeliver(body); out["status"] != "processed" {
		t.Fatalf("redelivery: %v", out)
	}
	if c := e.scalar(`select cancel_at_period_end from subscriptions where id = $1`, a.ID); c != true {
		t.Fatalf("cancel_at_period_end %v after the redelivery", c)
	}
}
