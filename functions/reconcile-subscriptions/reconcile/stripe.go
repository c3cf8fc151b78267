package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"billing/shared/stripeclient"
)

// Page is one page of subscriptions as Stripe answered it: the raw objects
// (read with stripesync, whatever the API version) and a lower bound, in
// Stripe's clock, of when Stripe read them (stripeclient.ReadTime of that
// page's own request), the time their state is stored under.
type Page struct {
	Subscriptions []json.RawMessage
	StateAt       time.Time
}

// Stripe is what reconcile asks Stripe.
type Stripe interface {
	// ListSubscriptions lists every subscription with status=all (of one
	// customer when customerID is set), page by page, newest first.
	ListSubscriptions(ctx context.Context, customerID string, fn func(Page) error) error
	// GetSubscription retrieves one subscription; ErrNotInStripe when Stripe
	// does not know it.
	GetSubscription(ctx context.Context, id string) (raw json.RawMessage, stateAt time.Time, err error)
}

// ErrNotInStripe is a subscription Stripe answers 404 for.
var ErrNotInStripe = errors.New("reconcile: subscription not found in Stripe")

// PageSize is how many subscriptions one list request asks for (Stripe's
// maximum).
const PageSize = 100

// StripeAPI is Stripe through stripe-go v76 (stripeclient.New).
type StripeAPI struct {
	API *client.API
	// Now is the clock measured around each request (the round trip, and
	// the fallback when an answer has no Date header).
	Now func() time.Time
}

// NewStripeAPI wraps a stripe-go client.
func NewStripeAPI(api *client.API) *StripeAPI { return &StripeAPI{API: api, Now: time.Now} }

// ListSubscriptions uses stripe-go's list iterator (status=all, limit 100,
// starting_after paging) and hands fn each page's raw JSON stamped with its
// own request's read time. The iterator hides the HTTP exchange, so the
// round trip is measured around the call that fetched the page: List for
// the first page (stripe-go fetches it there), the Next that returned a
// page's first object for the others (no other call does I/O). A span
// longer than the request only lowers the bound, which stays a bound.
func (s *StripeAPI) ListSubscriptions(ctx context.Context, customerID string, fn func(Page) error) error {
	params := &stripe.SubscriptionListParams{Status: stripe.String("all")}
	params.Context = ctx
	params.Limit = stripe.Int64(PageSize)
	if customerID != "" {
		params.Customer = stripe.String(customerID)
	}
	sent := s.now()
	it := s.API.Subscriptions.List(params)
	var cur *stripe.SubscriptionList
	var curSent, curReceived time.Time
	for {
		before := s.now()
		ok := it.Next()
		after := s.now()
		if !ok {
			break
		}
		list := it.SubscriptionList()
		if list == cur {
			continue
		}
		if cur != nil {
			if err := s.emit(cur, curSent, curReceived, fn); err != nil {
				return err
			}
			curSent, curReceived = before, after
		} else {
			// The first page: fetched in List, or (never seen) in this
			// Next after an empty one; the span covers both.
			curSent, curReceived = sent, after
		}
		cur = list
	}
	if err := it.Err(); err != nil {
		return stripeclient.Error(ctx, "list subscriptions", err)
	}
	if cur != nil {
		return s.emit(cur, curSent, curReceived, fn)
	}
	return nil
}

// emit decodes the raw page behind list (the typed structs of stripe-go
// v76 are not used: stripesync reads every API version's shape), fetched by
// a request sent and answered within [sent, received].
func (s *StripeAPI) emit(list *stripe.SubscriptionList, sent, received time.Time, fn func(Page) error) error {
	if list.LastResponse == nil {
		return errors.New("reconcile: a Stripe list page without its response")
	}
	var body struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(list.LastResponse.RawJSON, &body); err != nil {
		return fmt.Errorf("reconcile: Stripe list page: %w", err)
	}
	return fn(Page{Subscriptions: body.Data, StateAt: stripeclient.ReadTime(list.LastResponse.Header, sent, received)})
}

// GetSubscription retrieves one subscription's raw JSON.
func (s *StripeAPI) GetSubscription(ctx context.Context, id string) (json.RawMessage, time.Time, error) {
	params := &stripe.SubscriptionParams{}
	params.Context = ctx
	sent := s.now()
	sub, err := s.API.Subscriptions.Get(id, params)
	received := s.now()
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
			return nil, time.Time{}, fmt.Errorf("%w: %s", ErrNotInStripe, id)
		}
		return nil, time.Time{}, stripeclient.Error(ctx, "retrieve subscription", err)
	}
	if sub.LastResponse == nil {
		return nil, time.Time{}, errors.New("reconcile: a Stripe answer without its response")
	}
	return sub.LastResponse.RawJSON, stripeclient.ReadTime(sub.LastResponse.Header, sent, received), nil
}

func (s *StripeAPI) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
