// Package access computes what a user may use right now from their Stripe
// subscriptions and the plan catalog. It is pure: no I/O, no clock (the
// caller passes now), so every rule is table-tested to the second.
//
// The rules (DESIGN.md, "Access rules"):
//
//   - A subscription grants its plan's entitlements and limits when its
//     status is active or trialing, or past_due when the catalog's
//     past_due_keeps_access is set, and its plan is a paid plan of the
//     catalog. Every other status (unpaid, incomplete, incomplete_expired,
//     paused, canceled) grants nothing.
//   - A subscription with a scheduled end grants only while now is strictly
//     before that end, whatever its status says: a cancel at period end
//     ends at current_period_end, a cancel_at ends then, and with both the
//     earlier one counts. So one minute before the end grants, the end
//     itself and one minute after do not, even when the
//     customer.subscription.deleted webhook has not arrived yet.
//   - Of several granting subscriptions the one with the latest access wins:
//     no scheduled end beats any scheduled end, then the later end, then the
//     later current_period_end, then the later creation.
//   - Only subscriptions of the catalog's Stripe mode count: a test-mode
//     row never grants, nor is shown, in a live deployment (a database
//     shared by staging and production), and the reverse.
//   - When none grants, the user has the catalog's free plan, and the most
//     recently created subscription is the one shown (plan type, status,
//     dates), so that the app can say "your plan ended on ...".
//
// Result marshals to the check-subscription response body.
package access

import (
	"time"

	"billing/shared/plans"
)

// Stripe subscription statuses.
const (
	StatusActive            = "active"
	StatusTrialing          = "trialing"
	StatusPastDue           = "past_due"
	StatusUnpaid            = "unpaid"
	StatusIncomplete        = "incomplete"
	StatusIncompleteExpired = "incomplete_expired"
	StatusPaused            = "paused"
	StatusCanceled          = "canceled"
)

// Subscription is what access needs of one stored Stripe subscription.
type Subscription struct {
	// ID is the Stripe subscription ID ("sub_...").
	ID string
	// Status is the Stripe status ("active", "trialing", "canceled", ...).
	Status string
	// Plan is the catalog plan ID. When empty, it is looked up from PriceID
	// in the catalog's current mode.
	Plan string
	// PriceID is the Stripe price of the subscription's item.
	PriceID string
	// CancelAtPeriodEnd is Stripe's cancel_at_period_end.
	CancelAtPeriodEnd bool
	// CurrentPeriodEnd is the end of the paid period; zero if unknown.
	CurrentPeriodEnd time.Time
	// CancelAt is Stripe's cancel_at, nil when not set.
	CancelAt *time.Time
	// Created is when the subscription was created in Stripe.
	Created time.Time
	// ScheduledPlan is the plan a subscription schedule changes the
	// subscription to at ScheduledChangeAt (a downgrade at the period
	// end); "" and nil when none is scheduled.
	ScheduledPlan     string
	ScheduledChangeAt *time.Time
	// Livemode is the Stripe mode of the subscription: only those of the
	// catalog's mode count (Compute ignores the others).
	Livemode bool
}

// ScheduledEnd returns when the subscription is scheduled to end: its
// current period end when it cancels at period end, its cancel_at, or the
// earlier of the two when both are set. ok is false while it renews
// normally, and also when it cancels at period end but the period end is
// unknown (then status alone decides).
func (s Subscription) ScheduledEnd() (end time.Time, ok bool) {
	if s.CancelAtPeriodEnd && !s.CurrentPeriodEnd.IsZero() {
		end, ok = s.CurrentPeriodEnd, true
	}
	if s.CancelAt != nil && !s.CancelAt.IsZero() && (!ok || s.CancelAt.Before(end)) {
		end, ok = *s.CancelAt, true
	}
	return end, ok
}

// Result is the access of one user at one instant: the check-subscription
// response. Pointer fields are nil where the response has null.
type Result struct {
	// Subscribed is true when a paid plan grants access right now.
	Subscribed bool
	// Plan is the effective plan now: the granting plan, else the free plan.
	Plan string
	// PlanType is the plan of the shown subscription; nil without one.
	PlanType *string
	// Status is the Stripe status of the shown subscription; nil without one.
	Status *string
	// CancelAtPeriodEnd is the shown subscription's cancel_at_period_end.
	CancelAtPeriodEnd bool
	// CurrentPeriodEnd is the shown subscription's period end; nil if unknown.
	CurrentPeriodEnd *time.Time
	// AccessUntil is the shown subscription's scheduled end; nil while it
	// renews normally.
	AccessUntil *time.Time
	// Entitlements has every entitlement of the catalog, true when granted.
	Entitlements map[string]bool
	// Limits are the effective plan's limits; a nil value means unlimited.
	Limits map[string]*int
	// ScheduledPlan and ScheduledChangeAt are the shown subscription's
	// scheduled plan change; nil when none is scheduled.
	ScheduledPlan     *string
	ScheduledChangeAt *time.Time
	// Usage is every usage counter of the catalog for the effective plan
	// (see Usage); nil leaves "usage" out of the body (Compute does not
	// know the counts: check-subscription sets it).
	Usage map[string]Counter
}

// Grants reports whether s grants its plan at now under cat.
func Grants(s Subscription, cat *plans.Catalog, now time.Time) bool {
	switch s.Status {
	case StatusActive, StatusTrialing:
	case StatusPastDue:
		if !cat.PastDueKeepsAccess {
			return false
		}
	default:
		return false
	}
	if !cat.IsPaid(planOf(s, cat)) {
		return false
	}
	if end, ok := s.ScheduledEnd(); ok && !now.Before(end) {
		return false
	}
	return true
}

// Compute returns the access that subs give at now under cat. The order of
// subs does not matter.
func Compute(subs []Subscription, cat *plans.Catalog, now time.Time) Result {
	var winner, shown *Subscription
	live := cat.Mode == plans.ModeLive
	for i := range subs {
		s := &subs[i]
		if s.Livemode != live {
			continue // another deployment's row in a shared database
		}
		if Grants(*s, cat, now) && (winner == nil || grantsLonger(*s, *winner)) {
			winner = s
		}
		if shown == nil || moreRecent(*s, *shown) {
			shown = s
		}
	}
	effective, _ := cat.View(cat.FreePlan)
	if winner != nil {
		shown = winner
		effective, _ = cat.View(planOf(*winner, cat))
	}
	if effective == nil {
		effective = &plans.Plan{}
	}

	// The result's maps and numbers are its own: the catalog's plan is
	// read, never handed out.
	r := Result{
		Subscribed:   winner != nil,
		Plan:         effective.ID,
		Entitlements: map[string]bool{},
		Limits:       make(map[string]*int, len(effective.Limits)),
	}
	for name, v := range effective.Limits {
		if v != nil {
			n := *v
			v = &n
		}
		r.Limits[name] = v
	}
	cat.EachEntitlement(func(name string) { r.Entitlements[name] = false })
	for _, name := range effective.Entitlements {
		r.Entitlements[name] = true
	}
	if shown == nil {
		return r
	}
	if plan := planOf(*shown, cat); plan != "" {
		r.PlanType = &plan
	}
	if shown.Status != "" {
		status := shown.Status
		r.Status = &status
	}
	r.CancelAtPeriodEnd = shown.CancelAtPeriodEnd
	if !shown.CurrentPeriodEnd.IsZero() {
		end := shown.CurrentPeriodEnd
		r.CurrentPeriodEnd = &end
	}
	if end, ok := shown.ScheduledEnd(); ok {
		r.AccessUntil = &end
	}
	if shown.ScheduledPlan != "" && shown.ScheduledChangeAt != nil {
		plan, at := shown.ScheduledPlan, *shown.ScheduledChangeAt
		r.ScheduledPlan, r.ScheduledChangeAt = &plan, &at
	}
	return r
}

// planOf returns the plan ID of s: its Plan, else the plan of its price in
// the catalog's current mode, else "".
func planOf(s Subscription, cat *plans.Catalog) string {
	if s.Plan != "" {
		return s.Plan
	}
	if s.PriceID != "" {
		if id, ok := cat.PlanIDForPrice(s.PriceID); ok {
			return id
		}
	}
	return ""
}

// grantsLonger reports whether a, granting, gives later access than b.
func grantsLonger(a, b Subscription) bool {
	aEnd, aEnds := a.ScheduledEnd()
	bEnd, bEnds := b.ScheduledEnd()
	switch {
	case aEnds != bEnds:
		return !aEnds // no scheduled end beats one
	case aEnds && !aEnd.Equal(bEnd):
		return aEnd.After(bEnd)
	case !a.CurrentPeriodEnd.Equal(b.CurrentPeriodEnd):
		return a.CurrentPeriodEnd.After(b.CurrentPeriodEnd)
	case !a.Created.Equal(b.Created):
		return a.Created.After(b.Created)
	}
	return a.ID > b.ID // any fixed order, so that the input order never matters
}

// moreRecent reports whether a is more recent than b for showing: later
// creation, then later current period end.
func moreRecent(a, b Subscription) bool {
	switch {
	case !a.Created.Equal(b.Created):
		return a.Created.After(b.Created)
	case !a.CurrentPeriodEnd.Equal(b.CurrentPeriodEnd):
		return a.CurrentPeriodEnd.After(b.CurrentPeriodEnd)
	}
	return a.ID > b.ID
}
