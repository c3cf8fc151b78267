// Package ratelimit limits how often one signed-in user may call a function
// that calls Stripe, so that one account cannot burn the Stripe API rate
// limit that the webhook's fetches also need. The count lives in the
// database (billing_rate_limit_hit, one row per user and function, a fixed
// window), so the limit holds across every Lambda instance and the local
// server alike. Over the limit the answer is 429 rate_limited with
// Retry-After.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"billing/shared/httpkit"
	"billing/shared/store"
)

// Rule is a limit: at most Limit calls per Window for one user and function.
type Rule struct {
	Limit  int
	Window time.Duration
}

// Caller calls the billing SQL functions (store.Store does).
type Caller interface {
	Call(ctx context.Context, fn string, args []store.Arg, out any) error
}

// Limiter counts calls in the database. It logs through the request's
// logger (httpkit.Logger).
type Limiter struct {
	db Caller
}

// New returns a Limiter that counts through db.
func New(db Caller) *Limiter { return &Limiter{db: db} }

// Decision is the database's answer for one call.
type Decision struct {
	Allowed    bool `json:"allowed"`
	Hits       int  `json:"hits"`
	RetryAfter int  `json:"retry_after"` // seconds until the next window
}

// Hit counts one call of bucket (a function's URL name) by userID under
// rule and returns the decision.
func (l *Limiter) Hit(ctx context.Context, bucket, userID string, rule Rule) (Decision, error) {
	if rule.Limit < 1 || rule.Window < time.Second {
		return Decision{}, fmt.Errorf("ratelimit: rule %+v: need a limit of 1 or more per second or longer", rule)
	}
	var d Decision
	err := l.db.Call(ctx, "billing_rate_limit_hit", []store.Arg{
		{Name: "p_user_id", Value: userID},
		{Name: "p_bucket", Value: bucket},
		{Name: "p_limit", Value: rule.Limit},
		{Name: "p_window_seconds", Value: int(rule.Window / time.Second)},
	}, &d)
	return d, err
}

// Admit counts the call and returns a 429 rate_limited *httpkit.Error when
// it is over the limit. When the count cannot be made (the database is
// down), the call is admitted and the failure logged: the function's own
// database calls then answer for the outage.
func (l *Limiter) Admit(ctx context.Context, bucket, userID string, rule Rule) error {
	d, err := l.Hit(ctx, bucket, userID, rule)
	if err != nil {
		httpkit.Logger(ctx).WarnContext(ctx, "rate limit not checked", "function", bucket, "user_id", userID, "cause", err.Error())
		return nil
	}
	if d.Allowed {
		return nil
	}
	httpkit.Logger(ctx).WarnContext(ctx, "rate limited", "function", bucket, "user_id", userID,
		"hits", d.Hits, "limit", rule.Limit, "window_s", int(rule.Window/time.Second))
	return httpkit.RateLimited(d.RetryAfter)
}
