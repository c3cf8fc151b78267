package stripetest_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/internal/stripetest"
	"billing/shared/stripeclient"
)

func TestProxyRecordsWhatStripeGoSends(t *testing.T) {
	p := stripetest.NewProxy(t, stripetest.MockURL(t))
	sc := stripeclient.New(stripetest.Key, p.URL, nil, nil)

	params := &stripe.CustomerParams{Email: stripe.String("a@example.com")}
	params.AddMetadata("supabase_uid", "u1")
	params.SetIdempotencyKey("customer-create:u1")
	c, err := sc.Customers.New(params)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == "" {
		t.Fatal("no customer ID from stripe-mock")
	}
	if _, err := sc.Subscriptions.Get("sub_123", &stripe.SubscriptionParams{Expand: []*string{stripe.String("customer")}}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name         string
		method, path string
		want         int
	}{
		{"one customer create", http.MethodPost, "/v1/customers", 1},
		{"one subscription read", http.MethodGet, "/v1/subscriptions/sub_123", 1},
		{"no other request", "", "/v1/", 2},
		{"nothing on checkout", "", "/v1/checkout", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := p.Count(tt.method, tt.path); n != tt.want {
				t.Fatalf("Count(%q, %q) = %d, want %d", tt.method, tt.path, n, tt.want)
			}
		})
	}
	t.Run("form, headers and query", func(t *testing.T) {
		post := p.Requests(http.MethodPost, "/v1/customers")[0]
		if post.Form.Get("metadata[supabase_uid]") != "u1" || post.Form.Get("email") != "a@example.com" {
			t.Errorf("form = %v", post.Form)
		}
		if post.IdempotencyKey != "customer-create:u1" || post.StripeVersion != stripe.APIVersion {
			t.Errorf("idempotency key %q, version %q", post.IdempotencyKey, post.StripeVersion)
		}
		get := p.Requests(http.MethodGet, "/v1/subscriptions")[0]
		if get.Form.Get("expand[0]") != "customer" {
			t.Errorf("query = %v", get.Form)
		}
	})
	t.Run("reset", func(t *testing.T) {
		p.Reset()
		if n := p.Count("", "/"); n != 0 {
			t.Fatalf("Count after Reset = %d", n)
		}
	})
}

func TestProxyRewrite(t *testing.T) {
	p := stripetest.NewProxy(t, stripetest.MockURL(t))
	sc := stripeclient.New(stripetest.Key, p.URL, nil, nil)
	end := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p.Rewrite(http.MethodPost, "/v1/subscriptions/", func(req stripetest.Request, body map[string]any) {
		stripetest.SetSubscription(req, body, stripetest.Subscription{
			CustomerID: "cus_mine", Status: "active", PriceID: "price_mine", UserID: "u1",
			CurrentPeriodEnd: end, CancelAtPeriodEndFromRequest: true,
		})
	})
	params := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true),
		CancellationDetails: &stripe.SubscriptionCancellationDetailsParams{Feedback: stripe.String("too_expensive")}}
	sub, err := sc.Subscriptions.Update("sub_1", params)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Customer.ID != "cus_mine" || sub.CurrentPeriodEnd != end.Unix() || !sub.CancelAtPeriodEnd || sub.CancelAt != 0 {
		t.Errorf("rewritten subscription: customer %s, end %d, cancel %v, cancel_at %d",
			sub.Customer.ID, sub.CurrentPeriodEnd, sub.CancelAtPeriodEnd, sub.CancelAt)
	}
	if sub.Items.Data[0].Price.ID != "price_mine" || sub.Metadata["supabase_uid"] != "u1" {
		t.Errorf("price %s, metadata %v", sub.Items.Data[0].Price.ID, sub.Metadata)
	}
	if sub.CancellationDetails.Feedback != "too_expensive" {
		t.Errorf("cancellation details %+v", sub.CancellationDetails)
	}
	if _, err := sc.Subscriptions.Get("sub_1", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := sc.Subscriptions.Get("sub_1", nil); err != nil || got.Customer.ID == "cus_mine" {
		t.Errorf("a GET must not be rewritten by a POST rewrite: %v %v", got.Customer, err)
	}
}

func TestProxyFail(t *testing.T) {
	p := stripetest.NewProxy(t, stripetest.MockURL(t))
	sc := stripeclient.New(stripetest.Key, p.URL, nil, nil)
	p.Fail(http.MethodPost, "/v1/customers", http.StatusPaymentRequired,
		map[string]any{"type": "card_error", "code": "card_declined", "message": "Your card was declined."})
	_, err := sc.Customers.New(&stripe.CustomerParams{})
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v, want a *stripe.Error", err)
	}
	if se.Type != stripe.ErrorTypeCard || se.RequestID == "" || se.HTTPStatusCode != http.StatusPaymentRequired {
		t.Errorf("stripe error %+v", se)
	}
	if n := p.Count(http.MethodPost, "/v1/customers"); n != 1 {
		t.Errorf("a card error is not retried: %d requests, want 1", n)
	}
	p.ClearFailures()
	if _, err := sc.Customers.New(&stripe.CustomerParams{}); err != nil {
		t.Errorf("after ClearFailures: %v", err)
	}
}

func TestProxyDrop(t *testing.T) {
	p := stripetest.NewProxy(t, stripetest.MockURL(t))
	sc := stripeclient.New(stripetest.Key, p.URL, nil, nil)
	p.Drop(http.MethodPost, "/v1/customers", 1)
	params := &stripe.CustomerParams{}
	params.SetIdempotencyKey("drop-test")
	if _, err := sc.Customers.New(params); err != nil {
		t.Fatalf("stripe-go did not retry a cut connection: %v", err)
	}
	reqs := p.Requests(http.MethodPost, "/v1/customers")
	if len(reqs) != 2 || reqs[0].IdempotencyKey != "drop-test" || reqs[1].IdempotencyKey != "drop-test" {
		t.Fatalf("requests %+v, want two with the same idempotency key", reqs)
	}
}

// TestProxyIdempotency: with Idempotency on, a second POST with a key the
// proxy answered before gets that first answer again, marked as Stripe
// marks a replay; other keys and requests without one are forwarded.
func TestProxyIdempotency(t *testing.T) {
	p := stripetest.NewProxy(t, stripetest.MockURL(t))
	p.Idempotency()
	sc := stripeclient.New(stripetest.Key, p.URL, nil, nil)
	price := "price_first"
	p.Rewrite(http.MethodPost, "/v1/subscriptions/", func(req stripetest.Request, body map[string]any) {
		stripetest.SetSubscription(req, body, stripetest.Subscription{PriceID: price})
	})
	update := func(key string) *stripe.Subscription {
		t.Helper()
		params := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)}
		if key != "" {
			params.SetIdempotencyKey(key)
		}
		sub, err := sc.Subscriptions.Update("sub_1", params)
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}
	tests := []struct {
		name, key, price string
		replayed         bool
	}{
		{"first answer of key a", "a", "price_first", false},
		{"key a again: the first answer", "a", "price_first", true},
		{"key b: executed", "b", "price_second", false},
		{"no key: executed", "", "price_second", false},
	}
	for i, tt := range tests {
		if i == 1 {
			price = "price_second" // what Stripe holds changes after the first call
		}
		sub := update(tt.key)
		replayed := stripeclient.Replayed(sub.LastResponse)
		if got := sub.Items.Data[0].Price.ID; got != tt.price || replayed != tt.replayed {
			t.Errorf("%s: price %s, replayed %v; want %s, %v", tt.name, got, replayed, tt.price, tt.replayed)
		}
	}
	if n := p.Count(http.MethodPost, "/v1/subscriptions/sub_1"); n != 4 {
		t.Errorf("%d requests recorded, want 4 (a replay is recorded too)", n)
	}
}
