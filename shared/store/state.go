package store

import (
	"context"
	"time"

	"billing/shared/access"
	"billing/shared/plans"
)

// Store is the typed face of the SQL functions.
type Store struct {
	Caller
}

// New wraps a Caller.
func New(c Caller) *Store { return &Store{Caller: c} }

// SubscriptionRow is one row of subscriptions as billing_user_state returns it.
type SubscriptionRow struct {
	ID                 string     `json:"id"`
	CustomerID         string     `json:"customer_id"`
	Status             string     `json:"status"`
	PriceID            string     `json:"price_id"`
	Plan               string     `json:"plan"`
	CancelAtPeriodEnd  bool       `json:"cancel_at_period_end"`
	CurrentPeriodStart *time.Time `json:"current_period_start"`
	CurrentPeriodEnd   *time.Time `json:"current_period_end"`
	CancelAt           *time.Time `json:"cancel_at"`
	CanceledAt         *time.Time `json:"canceled_at"`
	EndedAt            *time.Time `json:"ended_at"`
	TrialEnd           *time.Time `json:"trial_end"`
	Created            *time.Time `json:"created"`
	CancellationReason string     `json:"cancellation_reason"`
	Livemode           bool       `json:"livemode"`
	// ScheduleID, ScheduledPlan and ScheduledChangeAt are the subscription's
	// live Stripe subscription schedule and the plan it changes to at
	// ScheduledChangeAt (a downgrade at the period end); empty and nil when
	// nothing is scheduled.
	ScheduleID        string     `json:"schedule_id"`
	ScheduledPlan     string     `json:"scheduled_plan"`
	ScheduledChangeAt *time.Time `json:"scheduled_change_at"`
}

// Access converts the row for the access rules.
func (r SubscriptionRow) Access() access.Subscription {
	s := access.Subscription{ID: r.ID, Status: r.Status, Plan: r.Plan, PriceID: r.PriceID,
		CancelAtPeriodEnd: r.CancelAtPeriodEnd, CancelAt: r.CancelAt, Livemode: r.Livemode,
		ScheduledPlan: r.ScheduledPlan, ScheduledChangeAt: r.ScheduledChangeAt}
	if r.CurrentPeriodEnd != nil {
		s.CurrentPeriodEnd = *r.CurrentPeriodEnd
	}
	if r.Created != nil {
		s.Created = *r.Created
	}
	return s
}

// UserState is a user's billing state: their customer and every
// subscription, newest first.
type UserState struct {
	UserID           string            `json:"user_id"`
	StripeCustomerID string            `json:"stripe_customer_id"`
	Subscriptions    []SubscriptionRow `json:"subscriptions"`
	// Usage is every usage counter of the user as stored.
	Usage map[string]UsageRow `json:"usage"`
}

// AccessSubscriptions returns the subscriptions for access.Compute.
func (u UserState) AccessSubscriptions() []access.Subscription {
	out := make([]access.Subscription, len(u.Subscriptions))
	for i, r := range u.Subscriptions {
		out[i] = r.Access()
	}
	return out
}

// InMode returns the user's subscriptions of one Stripe mode (plans.ModeLive
// or plans.ModeTest), in the order stored (newest first). Cancel, resume,
// change-plan and a user's reconcile act only on the deployment's own mode:
// a row of the other mode (a database shared by a test and a live
// deployment) grants nothing here (access.Compute skips it too), and its
// subscription and customer are unknown to the deployment's Stripe key.
func (u UserState) InMode(mode string) []SubscriptionRow {
	live := mode == plans.ModeLive
	var out []SubscriptionRow
	for _, r := range u.Subscriptions {
		if r.Livemode == live {
			out = append(out, r)
		}
	}
	return out
}

// UserState reads a user's billing state and usage counters in one call
// (billing_check_state: billing_user_state plus the counters).
func (s *Store) UserState(ctx context.Context, userID string) (UserState, error) {
	var st UserState
	err := s.Call(ctx, "billing_check_state", []Arg{{"p_user_id", userID}}, &st)
	return st, err
}
