package resumesub

import (
	"net/http"
	"time"

	"billing/shared/httpkit"
	"billing/shared/store"
)

// live are the statuses of a subscription that is still running.
var live = map[string]bool{"active": true, "trialing": true, "past_due": true}

// Resumable returns the caller's subscription a resume acts on: of the
// rows billing_user_state returned (the caller's own, newest first), the
// newest active, trialing or past_due one with a scheduled cancel
// (cancel_at_period_end or cancel_at) whose end is still ahead. Otherwise
// it returns a 409 not_resumable that says why: nothing is scheduled, or
// the period is over.
func Resumable(rows []store.SubscriptionRow, now time.Time) (store.SubscriptionRow, error) {
	over, running := false, false
	for _, r := range rows {
		if !live[r.Status] {
			continue
		}
		end, scheduled := r.Access().ScheduledEnd()
		switch {
		case !scheduled && !r.CancelAtPeriodEnd && r.CancelAt == nil:
			running = true
		case scheduled && !now.Before(end):
			over = true
		default:
			// Scheduled and still ahead (or a period end Stripe did not
			// give us: Stripe itself decides then).
			return r, nil
		}
	}
	switch {
	case running:
		return store.SubscriptionRow{}, notResumable(
			"Your subscription is not scheduled to cancel; there is nothing to resume.")
	case over:
		return store.SubscriptionRow{}, notResumable(
			"The paid period is over and the subscription has ended; start a new subscription instead.")
	}
	return store.SubscriptionRow{}, notResumable(
		"Your subscription has ended and cannot be resumed; start a new subscription instead.")
}

func notResumable(msg string) *httpkit.Error {
	return httpkit.NewError(http.StatusConflict, httpkit.CodeNotResumable, msg)
}
