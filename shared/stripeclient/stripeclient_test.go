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

// TestReadTime: an answer is stamped with a lower bound of Stripe's read,
// the Date header less the round trip, rounded down to the second.
func TestReadTime(t *testing.T) {
	sent := time.Date(2026, 11, 21, 1, 2, 3, 456_000_000, time.UTC)
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	h := http.Header{}
	h.Set("Date", "Sat, 21 Nov 2026 01:02:09 GMT")
	tests := []struct {
		name     string
		h        http.Header
		received time.Time
		want     time.Time
	}{
		// Stripe's clock, not ours (ours is 6 s behind here).
		{"no round trip: the Date itself", h, sent, at("2026-11-21T01:02:09Z")},
		// The Date is truncated: the response left in [09, 10), so a read
		// 100 ms earlier may have been in second 08.
		{"short round trip: the second before the Date", h, sent.Add(100 * time.Millisecond), at("2026-11-21T01:02:08Z")},
		{"round trip over a second", h, sent.Add(1500 * time.Millisecond), at("2026-11-21T01:02:07Z")},
		{"a clock going back counts as no round trip", h, sent.Add(-time.Second), at("2026-11-21T01:02:09Z")},
		{"no header: the second before sending, local clock", nil, sent.Add(time.Second), at("2026-11-21T01:02:02Z")},
		{"unreadable Date: local fallback", http.Header{"Date": {"garbage"}}, sent.Add(time.Second), at("2026-11-21T01:02:02Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ReadTime(tt.h, sent, tt.received)
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Fatalf("ReadTime = %v, want %v", got, tt.want)
			}
		})
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
