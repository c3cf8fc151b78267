package stripeclient

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/httpkit"
)

func TestError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{"nil stays nil", nil, 0, "", ""},
		{"card error says why", &stripe.Error{Type: stripe.ErrorTypeCard, Msg: "Your card was declined.", HTTPStatusCode: 402, RequestID: "req_1"},
			502, httpkit.CodeStripeError, "Your card was declined."},
		{"invalid request names the parameter", &stripe.Error{Type: stripe.ErrorTypeInvalidRequest, Param: "line_items[0][price]", HTTPStatusCode: 400, RequestID: "req_2"},
			502, httpkit.CodeStripeError, "line_items[0][price]"},
		{"rate limit", &stripe.Error{Type: stripe.ErrorTypeAPI, HTTPStatusCode: 429, RequestID: "req_3"}, 429, httpkit.CodeRateLimited, "retry"},
		{"api error", &stripe.Error{Type: stripe.ErrorTypeAPI, HTTPStatusCode: 500, RequestID: "req_4"}, 502, httpkit.CodeStripeError, "try again"},
		{"network", errors.New("dial tcp: connection refused"), 502, httpkit.CodeStripeError, "could not be reached"},
		{"deadline", context.DeadlineExceeded, 503, httpkit.CodeUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Error(context.Background(), "op", tt.err)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			var he *httpkit.Error
			if !errors.As(err, &he) {
				t.Fatalf("%v is not an *httpkit.Error", err)
			}
			if he.Status != tt.wantStatus || he.Code != tt.wantCode || !strings.Contains(he.Message, tt.wantInMsg) {
				t.Fatalf("got %d %s %q", he.Status, he.Code, he.Message)
			}
			if strings.Contains(he.Message, "req_") {
				t.Fatalf("Stripe's request ID leaked into the public message: %q", he.Message)
			}
			var se *stripe.Error
			if errors.As(tt.err, &se) && !strings.Contains(he.Cause.Error(), se.RequestID) {
				t.Fatalf("the cause %q does not carry the request ID for the logs", he.Cause)
			}
		})
	}
}

func TestResponseTime(t *testing.T) {
	now := time.Date(2026, 11, 21, 1, 2, 3, 456, time.UTC)
	h := http.Header{}
	h.Set("Date", "Sat, 21 Nov 2026 01:02:09 GMT")
	if got := ResponseTime(h, now); !got.Equal(time.Date(2026, 11, 21, 1, 2, 9, 0, time.UTC)) {
		t.Fatalf("Stripe's Date header not used: %v", got)
	}
	if got := ResponseTime(nil, now); !got.Equal(now.Truncate(time.Second)) {
		t.Fatalf("fallback = %v", got)
	}
	h.Set("Date", "garbage")
	if got := ResponseTime(h, now); !got.Equal(now.Truncate(time.Second)) {
		t.Fatalf("bad header fallback = %v", got)
	}
}

func TestNewUsesTheAPIBase(t *testing.T) {
	api := New("sk_test_x", "http://127.0.0.1:1", nil, nil)
	if api.Customers == nil || api.Subscriptions == nil || api.CheckoutSessions == nil || api.BillingPortalSessions == nil {
		t.Fatal("client not initialised")
	}
	_, err := api.Customers.Get("cus_x", nil)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("request did not go to the API base: %v", err)
	}
}
