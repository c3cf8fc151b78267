package cancelsub

import (
	"context"
	"errors"
	"time"

	"billing/shared/httpkit"
	"billing/shared/store"
	"billing/shared/stripesync"
)

// live are the statuses of a subscription that can still be cancelled.
var live = map[string]bool{"active": true, "trialing": true, "past_due": true}

// Current returns the caller's subscription that a cancel acts on: of the
// rows billing_user_state returned (the caller's own, newest first), the
// newest active, trialing or past_due one that has not reached a scheduled
// end; else the newest such one whose scheduled end has passed (already
// cancelled, waiting for Stripe's deleted event). ok is false when the
// caller has none.
func Current(rows []store.SubscriptionRow, now time.Time) (store.SubscriptionRow, bool) {
	var ended *store.SubscriptionRow
	for i, r := range rows {
		if !live[r.Status] {
			continue
		}
		if end, scheduled := r.Access().ScheduledEnd(); scheduled && !now.Before(end) {
			if ended == nil {
				ended = &rows[i]
			}
			continue
		}
		return r, true
	}
	if ended != nil {
		return *ended, true
	}
	return store.SubscriptionRow{}, false
}

// SyncApplier applies Stripe's answers to our own API calls through
// stripesync, the SQL path of the webhook (billing_apply_event, source
// "api"). It leaves out the transactional emails the object calls for:
// this function has no mail configuration, and the webhook event Stripe
// sends for the same change enqueues them and sends them at once (an email
// enqueued here but not sent would make the webhook's copy a duplicate and
// wait for the reconcile job's retry).
type SyncApplier struct {
	Syncer *stripesync.Syncer
}

// ApplyAnswer resolves the subscription's plan and applies it.
func (a SyncApplier) ApplyAnswer(ctx context.Context, raw []byte, stateAt time.Time) (stripesync.ApplyResult, error) {
	st, err := a.Syncer.Resolve(raw, stateAt, stripesync.SourceAPI)
	if err != nil {
		return stripesync.ApplyResult{}, err
	}
	fx := a.Syncer.SubscriptionEffects(st)
	fx.Emails = nil
	return a.Syncer.Apply(ctx, nil, nil, fx)
}

// applyError maps a failure to store Stripe's answer. Stripe has already
// made the change and its webhook event will store it too; the caller sees
// a 5xx and may retry, which asks Stripe for the same change again.
func applyError(err error) error {
	var up *stripesync.UnknownPriceError
	if errors.As(err, &up) {
		return httpkit.Internal(err)
	}
	return dbError(err)
}

// dbError maps a store error: unreachable is 503, anything else 500.
func dbError(err error) error {
	var he *httpkit.Error
	if errors.As(err, &he) {
		return he
	}
	if store.IsUnavailable(err) {
		return httpkit.Unavailable(err)
	}
	return httpkit.Internal(err)
}
