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
// newest active, trialing or past_due one whose cancel the user scheduled
// (cancel_at_period_end: through cancel-subscription or the portal) and
// whose end is still ahead. Otherwise it returns a 409 not_resumable that
// says why: a cancellation the merchant scheduled (a fixed cancel_at
// without cancel_at_period_end, set in the Dashboard or by support; see
// UserScheduled), nothing scheduled, or the period is over.
func Resumable(rows []store.SubscriptionRow, now time.Time) (store.SubscriptionRow, error) {
	over, running, merchant := false, false, false
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
		case !UserScheduled(r):
			merchant = true
		default:
			// The user's cancel, still ahead (or a period end Stripe did
			// not give us: Stripe itself decides then).
			return r, nil
		}
	}
	switch {
	case merchant:
		return store.SubscriptionRow{}, notResumable(
			"Your subscription's end was arranged with us; to keep it, please contact support.")
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

// UserScheduled reports whether the subscription's scheduled cancel is the
// user's own. The user cancels only at the period end: cancel-subscription
// sends cancel_at_period_end=true, and the portal (set to cancel at the
// end of the billing period, docs/app-flows.md) does the same; Stripe then
// also sets cancel_at to the period end. A cancel_at without
// cancel_at_period_end is a fixed date, which only the merchant sets (the
// Dashboard's "on a custom date", support through the API, a schedule's
// end): it is not the user's to undo.
func UserScheduled(r store.SubscriptionRow) bool { return r.CancelAtPeriodEnd }

func notResumable(msg string) *httpkit.Error {
	return httpkit.NewError(http.StatusConflict, httpkit.CodeNotResumable, msg)
}
