package cancelsub

import (
	"context"
	"errors"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// SubscriptionGetter reads Stripe subscriptions (stripe-go's subscription.Client).
type SubscriptionGetter interface {
	Get(id string, params *stripe.SubscriptionParams) (*stripe.Subscription, error)
}

// ReadBack returns the stripesync.SubscriptionReader of subs: the raw
// answer and a lower bound of Stripe's read (stripeclient.ReadTime), on
// the clock now. Cancel and resume read their own change again with it
// when its answer lost a same-second race (stripesync.ApplyOwnWrite).
func ReadBack(subs SubscriptionGetter, now func() time.Time) stripesync.SubscriptionReader {
	return func(ctx context.Context, id string) ([]byte, time.Time, error) {
		p := &stripe.SubscriptionParams{}
		p.Context = ctx
		sent := now()
		s, err := subs.Get(id, p)
		received := now()
		if err != nil {
			return nil, time.Time{}, stripeclient.Error(ctx, "retrieve subscription", err)
		}
		if s.LastResponse == nil || len(s.LastResponse.RawJSON) == 0 {
			return nil, time.Time{}, errors.New("stripe answered the subscription without a body")
		}
		return s.LastResponse.RawJSON, stripeclient.ReadTime(s.LastResponse.Header, sent, received), nil
	}
}
