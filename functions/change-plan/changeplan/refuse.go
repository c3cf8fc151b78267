package changeplan

import (
	"context"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/httpkit"
	"billing/shared/plans"
	"billing/shared/store"
	"billing/shared/stripeclient"
)

// The error codes of change-plan's refusals, besides no_subscription (404)
// and invalid_request (400).
const (
	// CodeUnknownPlan (400): the plan is not in the catalog.
	CodeUnknownPlan = "unknown_plan"
	// CodeFreePlan (400): the plan is the free plan; cancel instead.
	CodeFreePlan = "free_plan"
	// CodeSamePlan (409): the subscription is on that plan already.
	CodeSamePlan = "same_plan"
	// CodeSubscriptionCanceled (409): the subscription has ended.
	CodeSubscriptionCanceled = "subscription_canceled"
	// CodeSubscriptionEnding (409): a cancel is scheduled; resume first.
	CodeSubscriptionEnding = "subscription_ending"
	// CodeSubscriptionIncomplete (409): the first payment never succeeded.
	CodeSubscriptionIncomplete = "subscription_incomplete"
	// CodeSubscriptionUnpaid (409): renewals failed and the subscription is unpaid.
	CodeSubscriptionUnpaid = "subscription_unpaid"
	// CodeSubscriptionPastDue (409): a renewal payment is open; pay it first.
	CodeSubscriptionPastDue = "subscription_past_due"
	// CodeSubscriptionPaused (409): the subscription is paused.
	CodeSubscriptionPaused = "subscription_paused"
	// CodeChangePending (409): an earlier upgrade waits for its payment.
	CodeChangePending = "change_pending_payment"
	// CodePreviewExpired (409): the prorationDate is too old; preview again.
	CodePreviewExpired = "preview_expired"
	// CodePaymentFailed (402): the upgrade's payment failed; the old plan
	// stays. The body carries hostedInvoiceUrl, where the user pays.
	CodePaymentFailed = "payment_failed"
)

// Changeable returns the caller's subscription a change acts on: of the
// rows billing_user_state returned (the caller's own, newest first), the
// newest one that has not ended (neither canceled nor incomplete_expired).
// It must be active or trialing and not scheduled to cancel; otherwise the
// answer is a 409 whose code says why. No subscription at all is 404
// no_subscription; only ended ones, 409 subscription_canceled.
func Changeable(rows []store.SubscriptionRow, now time.Time) (store.SubscriptionRow, error) {
	if len(rows) == 0 {
		return store.SubscriptionRow{}, httpkit.NewError(http.StatusNotFound, httpkit.CodeNoSubscription,
			"You have no subscription to change; start one with a checkout.")
	}
	for _, r := range rows {
		switch r.Status {
		case "canceled", "incomplete_expired":
			continue
		case "active", "trialing":
		case "incomplete":
			return r, conflict(CodeSubscriptionIncomplete, "Your subscription's first payment has not gone through; complete it before changing plans.")
		case "unpaid":
			return r, conflict(CodeSubscriptionUnpaid, "Your subscription is unpaid; pay the open invoice in the billing portal before changing plans.")
		case "past_due":
			return r, conflict(CodeSubscriptionPastDue, "Your subscription has an unpaid renewal; pay it in the billing portal before changing plans.")
		case "paused":
			return r, conflict(CodeSubscriptionPaused, "Your subscription is paused; resume it before changing plans.")
		default:
			return r, conflict(CodeSubscriptionCanceled, "Your subscription cannot change plans in its status "+r.Status+".")
		}
		if end, scheduled := r.Access().ScheduledEnd(); scheduled || r.CancelAtPeriodEnd || r.CancelAt != nil {
			if scheduled && !now.Before(end) {
				return r, conflict(CodeSubscriptionCanceled, "Your subscription has ended; start a new one instead.")
			}
			return r, conflict(CodeSubscriptionEnding, "Your subscription is set to cancel; resume it (resume-subscription) before changing plans.")
		}
		return r, nil
	}
	return store.SubscriptionRow{}, conflict(CodeSubscriptionCanceled, "Your subscription has ended; start a new one instead.")
}

func conflict(code, msg string) *httpkit.Error {
	return httpkit.NewError(http.StatusConflict, code, msg)
}

// The kinds of change.
const (
	kindUpgrade         = "upgrade"
	kindDowngrade       = "downgrade"
	kindCancelScheduled = "cancel_scheduled_change"
)

// When a change takes effect.
const (
	EffectiveNow       = "now"
	EffectivePeriodEnd = "period_end"
)

// change is one planned change of a subscription.
type change struct {
	sub       store.SubscriptionRow
	from, to  plans.Plan
	fromPrice string
	toPrice   string
	kind      string
	effective string

	// Loaded from Stripe by load.
	stripeSub *stripe.Subscription
	item      *stripe.SubscriptionItem
	schedule  *stripe.SubscriptionSchedule // live schedule, or nil
}

// plan decides the kind of change from the catalog's order of plans.
func (h *handler) plan(sub store.SubscriptionRow, target plans.Plan) (change, error) {
	c := change{sub: sub, to: target, fromPrice: sub.PriceID}
	c.toPrice, _ = h.catalog.PriceID(target.ID)
	from, known := h.catalog.Plan(sub.Plan)
	c.from = from
	if target.ID == sub.Plan {
		if sub.ScheduledPlan == "" {
			return c, conflict(CodeSamePlan, "Your subscription is on plan "+target.ID+" already.")
		}
		c.kind, c.effective = kindCancelScheduled, EffectiveNow
		return c, nil
	}
	fromRank, _ := h.catalog.Rank(from.ID)
	toRank, _ := h.catalog.Rank(target.ID)
	// A plan the catalog does not know (a legacy price) ranks below all.
	if !known || toRank > fromRank {
		c.kind, c.effective = kindUpgrade, EffectiveNow
		return c, nil
	}
	c.kind, c.effective = kindDowngrade, EffectivePeriodEnd
	if h.catalog.Downgrade == plans.DowngradeImmediately {
		c.effective = EffectiveNow
	}
	return c, nil
}

// load reads the subscription from Stripe, with its schedule: its item,
// and whether an earlier upgrade still waits for its payment.
func (h *handler) load(ctx context.Context, c *change) error {
	params := &stripe.SubscriptionParams{}
	params.Context = ctx
	params.AddExpand("schedule")
	s, err := h.stripe.Subscriptions.Get(c.sub.ID, params)
	if err != nil {
		return stripeclient.Error(ctx, "retrieve subscription", err)
	}
	c.stripeSub = s
	if s.PendingUpdate != nil {
		return conflict(CodeChangePending, "An earlier plan change waits for its payment; pay or let that invoice lapse first.")
	}
	if s.Items != nil {
		for _, it := range s.Items.Data {
			if it.Price != nil && it.Price.ID == c.fromPrice {
				c.item = it
				break
			}
		}
		if c.item == nil && len(s.Items.Data) > 0 {
			c.item = s.Items.Data[0]
		}
	}
	if c.item == nil || c.item.ID == "" {
		return httpkit.Internal(errStripeShape("subscription " + c.sub.ID + " has no item"))
	}
	if c.item.Price != nil && c.item.Price.ID != "" {
		c.fromPrice = c.item.Price.ID
	}
	if sc := s.Schedule; sc != nil && sc.ID != "" &&
		(sc.Status == stripe.SubscriptionScheduleStatusActive || sc.Status == stripe.SubscriptionScheduleStatusNotStarted) {
		c.schedule = sc
	}
	if c.kind == kindCancelScheduled && c.schedule == nil {
		// The stored schedule is gone in Stripe: nothing to remove.
		return conflict(CodeSamePlan, "Your subscription is on plan "+c.to.ID+" already.")
	}
	return nil
}

type errStripeShape string

func (e errStripeShape) Error() string { return "change-plan: unexpected Stripe answer: " + string(e) }
