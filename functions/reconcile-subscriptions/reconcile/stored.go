package reconcile

import (
	"context"
	"strings"
	"time"

	"billing/shared/store"
)

// Stored is a subscription as the database holds it
// (billing_stored_subscription_json).
type Stored struct {
	ID         string `json:"id"`
	UserID     string `json:"user_id"`
	OwnerID    string `json:"owner_id"` // user_id, else the user of the customer
	CustomerID string `json:"customer_id"`
	Livemode   bool   `json:"livemode"`
	State
	StateAt *time.Time `json:"state_at"`
}

// State is the part of a subscription reconcile compares with Stripe.
type State struct {
	Status            string     `json:"status"`
	Plan              string     `json:"plan"`
	PriceID           string     `json:"price_id,omitempty"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	CurrentPeriodEnd  *time.Time `json:"current_period_end"`
	CancelAt          *time.Time `json:"cancel_at"`
	Created           *time.Time `json:"created,omitempty"`
}

// db is the SQL side of reconcile; every call is one SQL function.
type db struct{ store *store.Store }

type byIDResult struct {
	Subscriptions []Stored          `json:"subscriptions"`
	CustomerUsers map[string]string `json:"customer_users"`
}

// byID returns the stored rows of ids and the users of customers.
func (d db) byID(ctx context.Context, ids, customers []string) (map[string]Stored, map[string]string, error) {
	var res byIDResult
	err := d.store.Call(ctx, "billing_subscriptions_by_id",
		[]store.Arg{{Name: "p_ids", Value: textArray(ids)}, {Name: "p_customer_ids", Value: textArray(customers)}}, &res)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]Stored, len(res.Subscriptions))
	for _, s := range res.Subscriptions {
		out[s.ID] = s
	}
	if res.CustomerUsers == nil {
		res.CustomerUsers = map[string]string{}
	}
	return out, res.CustomerUsers, nil
}

type openPage struct {
	Subscriptions []Stored `json:"subscriptions"`
	Next          *string  `json:"next"`
}

// openStored calls fn with every stored subscription of the mode that is
// not over, page by page.
func (d db) openStored(ctx context.Context, livemode bool, fn func([]Stored) error) error {
	var after any
	for {
		var page openPage
		err := d.store.Call(ctx, "billing_subscriptions_open", []store.Arg{
			{Name: "p_after", Value: after}, {Name: "p_limit", Value: 500}, {Name: "p_livemode", Value: livemode},
		}, &page)
		if err != nil {
			return err
		}
		if err := fn(page.Subscriptions); err != nil {
			return err
		}
		if page.Next == nil {
			return nil
		}
		after = *page.Next
	}
}

// UserBegin is billing_reconcile_user_begin's answer.
type UserBegin struct {
	Sync              bool   `json:"sync"`
	UnknownUser       bool   `json:"unknown_user"`
	StripeCustomerID  string `json:"stripe_customer_id"`
	RetryAfterSeconds int    `json:"retry_after_seconds"`
}

// userBegin takes the user's sync slot when the interval has passed.
func (d db) userBegin(ctx context.Context, userID string, interval time.Duration) (UserBegin, error) {
	var res UserBegin
	err := d.store.Call(ctx, "billing_reconcile_user_begin", []store.Arg{
		{Name: "p_user_id", Value: userID}, {Name: "p_min_interval_seconds", Value: int(interval / time.Second)},
	}, &res)
	return res, err
}

// textArray is a Postgres text[] literal ({"a","b"}): both data paths pass
// it as text that the function's parameter type reads (PostgREST hands
// arguments over as text, not JSON arrays). nil stays NULL.
func textArray(items []string) any {
	if items == nil {
		return nil
	}
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}
