package stripeclient

import (
	"context"
	"errors"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// SubscriptionGetter reads Stripe subscriptions (stripe-go's subscription.Client).
type SubscriptionGetter interface {
	Get(id string, params *stripe.SubscriptionParams) (*stripe.Subscription, error)
}

// ReadBack returns a reader of subs's subscriptions for
// stripesync.ApplyOwnWrite (a stripesync.SubscriptionReader): the raw
// answer and a lower bound of Stripe's read (ReadTime), on the clock now.
// Cancel, resume and change-plan read their own change again with it when
// its answer lost a same-second race.
func ReadBack(subs SubscriptionGetter, now func() time.Time) func(ctx context.Context, id string) ([]byte, time.Time, error) {
	return func(ctx context.Context, id string) ([]byte, time.Time, error) {
		p := &stripe.SubscriptionParams{}
		p.Context = ctx
		sent := now()
		s, err := subs.Get(id, p)
		received := now()
		if err != nil {
			return nil, time.Time{}, Error(ctx, "retrieve subscription", err)
		}
		if s.LastResponse == nil || len(s.LastResponse.RawJSON) == 0 {
			return nil, time.Time{}, errors.New("stripe answered the subscription without a body")
		}
		return s.LastResponse.RawJSON, ReadTime(s.LastResponse.Header, sent, received), nil
	}
}

// ReplayedHeader is the header Stripe sets on an answer it replays for an
// idempotency key it has answered before (for 24 hours): the answer then
// describes the object as it was at the first request, not as it is now.
const ReplayedHeader = "Idempotent-Replayed"

// Replayed reports whether Stripe's answer r is a replay (ReplayedHeader).
func Replayed(r *stripe.APIResponse) bool {
	return r != nil && r.Header.Get(ReplayedHeader) == "true"
}
