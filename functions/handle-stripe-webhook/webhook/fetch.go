package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"billing/shared/stripeclient"
)

// ErrNotFound is a subscription Stripe does not know (deleted test data,
// or an event of another account).
var ErrNotFound = errors.New("webhook: subscription not found in Stripe")

// Fetcher reads a subscription from Stripe: its raw JSON and a LOWER bound,
// in Stripe's clock and whole seconds, of when Stripe read it
// (stripeclient.ReadTime), the time its state is ordered by.
type Fetcher interface {
	FetchSubscription(ctx context.Context, id string) (raw []byte, at time.Time, err error)
}

// StripeFetcher fetches with stripe-go; the answer is in stripe-go v76's
// API version (2023-10-16), which stripesync reads like any other.
type StripeFetcher struct {
	API *client.API
	Now func() time.Time // clock around the request (round trip, fallback without a Date); nil = time.Now
}

// FetchSubscription implements Fetcher.
func (f StripeFetcher) FetchSubscription(ctx context.Context, id string) ([]byte, time.Time, error) {
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	params := &stripe.SubscriptionParams{}
	params.Context = ctx
	sent := now()
	sub, err := f.API.Subscriptions.Get(id, params)
	received := now()
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
			return nil, time.Time{}, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, time.Time{}, stripeclient.Error(ctx, "retrieve subscription", err)
	}
	if sub.LastResponse == nil || len(sub.LastResponse.RawJSON) == 0 {
		return nil, time.Time{}, fmt.Errorf("webhook: stripe answered subscription %s without a body", id)
	}
	return sub.LastResponse.RawJSON, stripeclient.ReadTime(sub.LastResponse.Header, sent, received), nil
}
