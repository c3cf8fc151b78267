package stripesync

import (
	"context"
	"fmt"
	"time"

	"billing/shared/httpkit"
	"billing/shared/store"
)

// Bounds of ApplyOwnWrite's wait-and-fetch, the webhook's (its
// MaxRefetchWait and refetchWait).
const (
	// OwnWriteLag is how far the stored state may be ahead of the read of
	// Stripe's answer for a wait and a fresh read to be tried: the same
	// second or two (an event Stripe sent just before our call, or
	// another call of ours a moment ago).
	OwnWriteLag = 2 * time.Second
	// MaxRefetchWait bounds the wait before the fresh read.
	MaxRefetchWait = 3 * time.Second
)

// SubscriptionReader reads a subscription from Stripe: its raw JSON and a
// lower bound, in Stripe's clock and whole seconds, of when Stripe read it
// (stripeclient.ReadTime).
type SubscriptionReader func(ctx context.Context, id string) (raw []byte, readAt time.Time, err error)

// RefetchWait is how long after an answer read from `read` (a lower bound,
// whole seconds) a new read's lower bound is later than `stored`:
// stored - read + 1s, at least 1s, at most MaxRefetchWait: the rule of the
// webhook's second fetch and of cancel's and resume's fresh read. Stripe's
// Date was then at least read + 1s (the bound is Date less a round trip,
// rounded down), so a request sent that long after the answer is answered
// with a Date of at least stored + 2s, whose bound is at least stored + 1s
// while the round trip stays under a second.
func RefetchWait(read time.Time, stored *time.Time) time.Duration {
	wait := time.Second
	if stored != nil {
		wait = stored.Sub(read) + time.Second
	}
	return min(max(wait, time.Second), MaxRefetchWait)
}

// ApplyOwnWrite applies Stripe's answer to our own change of a
// subscription (cancel, resume) like ApplyAnswer, so that the caller can
// answer with, and every later read shows, the change. An answer that is
// "stale" only because the stored state is from the same second or two
// (at most OwnWriteLag ahead of readAt: an event of that moment, or our
// own previous change) is followed by the webhook's bounded
// wait-and-fetch: after RefetchWait, the subscription is read again with
// read and that answer applied, once. A stored state further ahead is
// left alone (its own events apply the change), and so is the result of
// the second try or a failed read: the caller then answers with what is
// stored, and the change's webhook event applies it. When what is stored
// is already the answer (every field an apply writes is equal: the
// change's own event arrived first), nothing waits and the result's
// Subscription is "current".
func (s *Syncer) ApplyOwnWrite(ctx context.Context, raw []byte, readAt time.Time, read SubscriptionReader) (ApplyResult, error) {
	return s.applyReadingAgain(ctx, raw, readAt, read, func(raw []byte, at time.Time) (ApplyResult, error) {
		return s.ApplyAnswer(ctx, raw, at)
	})
}

// ApplyRead applies a subscription read from Stripe's API (the success
// page's sync of one customer) like ApplySubscription with source "api",
// emails included, and, like ApplyOwnWrite, reads it again once after the
// bounded wait when the read lost a same-second race with the stored state
// (the webhook stored the event of that second, and the state Stripe has
// now is not stored yet): without it, the read Stripe answered with the
// new state was dropped as stale and the page showed the old one until the
// late event came.
func (s *Syncer) ApplyRead(ctx context.Context, raw []byte, readAt time.Time, read SubscriptionReader) (ApplyResult, error) {
	return s.applyReadingAgain(ctx, raw, readAt, read, func(raw []byte, at time.Time) (ApplyResult, error) {
		return s.ApplySubscription(ctx, raw, at, SourceAPI)
	})
}

// applyReadingAgain is ApplyOwnWrite and ApplyRead, with apply applying one
// answer.
func (s *Syncer) applyReadingAgain(ctx context.Context, raw []byte, readAt time.Time, read SubscriptionReader,
	apply func(raw []byte, at time.Time) (ApplyResult, error)) (ApplyResult, error) {
	res, err := apply(raw, readAt)
	if err != nil || res.Subscription != "stale" || read == nil {
		return res, err
	}
	st, err := s.Resolve(raw, readAt, SourceAPI)
	if err != nil {
		return res, err
	}
	sub := st.Subscription
	var stored struct {
		StateAt *time.Time `json:"state_at"`
		// Stored is billing_stored_subscription_json, read with the
		// document's field names.
		Stored *subscriptionDoc `json:"stored"`
	}
	if err := s.Store.Call(ctx, "billing_subscription_state_at",
		[]store.Arg{{Name: "p_subscription_id", Value: sub.ID}}, &stored); err != nil {
		return res, err
	}
	read0 := readAt.UTC().Truncate(time.Second)
	if stored.StateAt == nil || stored.StateAt.Sub(read0) > OwnWriteLag {
		return res, nil
	}
	if stored.Stored != nil && subscriptionDocOf(&st).writesNothingOver(stored.Stored) {
		// The change's own event won the race: what is stored is the
		// answer, and applying it would change nothing.
		httpkit.Logger(ctx).DebugContext(ctx, "stripesync: our change's answer is already stored",
			"subscription_id", sub.ID, "read_from", read0, "stored_state_at", stored.StateAt)
		res.Subscription = "current"
		return res, nil
	}
	wait := RefetchWait(read0, stored.StateAt)
	httpkit.Logger(ctx).InfoContext(ctx, "stripesync: our change's answer is not later than the stored state; reading it again",
		"subscription_id", sub.ID, "read_from", read0, "stored_state_at", stored.StateAt, "wait", wait.String())
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return res, fmt.Errorf("stripesync: waiting to read %s again: %w", sub.ID, ctx.Err())
	case <-t.C:
	}
	raw, readAt, err = read(ctx, sub.ID)
	if err != nil {
		// The change is made in Stripe and its event will store it.
		httpkit.Logger(ctx).WarnContext(ctx, "stripesync: reading our change again failed; its webhook event applies it",
			"subscription_id", sub.ID, "cause", err.Error())
		return res, nil
	}
	return apply(raw, readAt)
}

// writesNothingOver reports whether applying d (an API answer's
// document) over the stored row would change none of the columns
// billing_apply_event writes. A price the catalog does not know is never
// taken as held (the apply decides what such a state keeps).
func (d *subscriptionDoc) writesNothingOver(stored *subscriptionDoc) bool {
	return !d.UnknownPrice &&
		d.Status == stored.Status && d.CustomerID == stored.CustomerID &&
		d.PriceID == stored.PriceID && d.Plan == stored.Plan && d.Quantity == stored.Quantity &&
		sameTime(d.CurrentPeriodStart, stored.CurrentPeriodStart) && sameTime(d.CurrentPeriodEnd, stored.CurrentPeriodEnd) &&
		d.CancelAtPeriodEnd == stored.CancelAtPeriodEnd && sameTime(d.CancelAt, stored.CancelAt) &&
		sameTime(d.CanceledAt, stored.CanceledAt) && sameTime(d.EndedAt, stored.EndedAt) &&
		sameTime(d.TrialStart, stored.TrialStart) && sameTime(d.TrialEnd, stored.TrialEnd) &&
		d.CancellationReason == stored.CancellationReason &&
		d.CancellationFeedback == stored.CancellationFeedback &&
		d.CancellationComment == stored.CancellationComment
}

// sameTime reports whether a and b are both unset or the same instant.
func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
