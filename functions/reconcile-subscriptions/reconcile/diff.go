package reconcile

import (
	"time"

	"billing/shared/access"
	"billing/shared/stripesync"
)

// Kinds of difference between Stripe and the database.
const (
	// KindNew: Stripe has a subscription the database does not.
	KindNew = "new"
	// KindStatus: the status differs (active in the database, canceled in Stripe, ...).
	KindStatus = "status"
	// KindPlan: the plan (the price's catalog plan) differs.
	KindPlan = "plan"
	// KindCancelAtPeriodEnd: a scheduled cancel is missing or left over.
	KindCancelAtPeriodEnd = "cancel_at_period_end"
	// KindPeriodEnd: current_period_end differs (a renewal was missed).
	KindPeriodEnd = "current_period_end"
	// KindCancelAt: cancel_at differs.
	KindCancelAt = "cancel_at"
	// KindUser: Stripe names the user (metadata.supabase_uid) and the
	// stored row has none.
	KindUser = "user"
	// KindMissing: stored as not over, and Stripe does not know it.
	KindMissing = "missing_in_stripe"
)

// Kinds lists every kind of difference, in report order.
var Kinds = []string{KindNew, KindStatus, KindPlan, KindCancelAtPeriodEnd, KindPeriodEnd, KindCancelAt, KindUser, KindMissing}

// Change is one subscription on which Stripe and the database disagree.
type Change struct {
	SubscriptionID string   `json:"subscription_id"`
	CustomerID     string   `json:"customer_id"`
	UserID         string   `json:"user_id,omitempty"`
	Kinds          []string `json:"kinds"`
	// Stored is the database's state (nil when it has none); Stripe is
	// Stripe's (nil when Stripe does not know the subscription).
	Stored *State `json:"stored,omitempty"`
	Stripe *State `json:"stripe,omitempty"`
	// Result is what --apply did: "applied", "stale" (the database already
	// holds a later state), "left" (missing in Stripe: not touched), or
	// "error"; empty in a dry run.
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// stateOf is the compared part of a subscription read from Stripe.
func stateOf(st stripesync.State) *State {
	s := &State{Status: st.Status, Plan: st.Plan, PriceID: st.PriceID, CancelAtPeriodEnd: st.CancelAtPeriodEnd,
		CurrentPeriodEnd: st.CurrentPeriodEnd, CancelAt: st.CancelAt}
	if !st.Created.IsZero() {
		c := st.Created
		s.Created = &c
	}
	return s
}

// diff returns the kinds in which Stripe's state differs from the stored
// row (nil stored: KindNew).
func diff(st stripesync.State, stored *Stored) []string {
	if stored == nil {
		return []string{KindNew}
	}
	var kinds []string
	if st.Status != stored.Status {
		kinds = append(kinds, KindStatus)
	}
	if st.Plan != stored.Plan {
		kinds = append(kinds, KindPlan)
	}
	if st.CancelAtPeriodEnd != stored.CancelAtPeriodEnd {
		kinds = append(kinds, KindCancelAtPeriodEnd)
	}
	if !sameTime(st.CurrentPeriodEnd, stored.CurrentPeriodEnd) {
		kinds = append(kinds, KindPeriodEnd)
	}
	if !sameTime(st.CancelAt, stored.CancelAt) {
		kinds = append(kinds, KindCancelAt)
	}
	if st.UserID != "" && stored.UserID == "" {
		kinds = append(kinds, KindUser)
	}
	return kinds
}

// sameTime compares two Stripe times to the second.
func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Unix() == b.Unix()
}

// accessSub is a compared state as the access rules read it.
func accessSub(id string, s *State) access.Subscription {
	out := access.Subscription{ID: id, Status: s.Status, Plan: s.Plan, PriceID: s.PriceID,
		CancelAtPeriodEnd: s.CancelAtPeriodEnd, CancelAt: s.CancelAt}
	if s.CurrentPeriodEnd != nil {
		out.CurrentPeriodEnd = *s.CurrentPeriodEnd
	}
	if s.Created != nil {
		out.Created = *s.Created
	}
	return out
}

// sameAccess reports whether two access results give the user the same
// plan and the same paid access.
func sameAccess(a, b access.Result) bool {
	return a.Subscribed == b.Subscribed && a.Plan == b.Plan
}
