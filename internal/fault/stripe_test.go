package fault

import (
	"net/http"
	"strings"
	"testing"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/create-checkout-session/checkout"
	"billing/internal/stripetest/fntest"
	"billing/shared/httpkit"
)

// distinctKeys counts the distinct idempotency keys of the recorded
// requests: one per Stripe object that may exist.
func distinctKeys(e *fntest.Env, method, path string) int {
	keys := map[string]bool{}
	for _, r := range e.Proxy.Requests(method, path) {
		keys[r.IdempotencyKey] = true
	}
	return len(keys)
}

// TestStripeFailsDuringCheckout: Stripe answers 500 or 429, or the
// connection drops after the request was sent. The user sees 502
// stripe_error with a message that says to try again; the retry makes
// one customer (one idempotency key, one stored ID) and one session.
func TestStripeFailsDuringCheckout(t *testing.T) {
	tests := []struct {
		name  string
		fault func(e *fntest.Env)
	}{
		{"500 on the customer", func(e *fntest.Env) {
			e.Proxy.Fail(http.MethodPost, "/v1/customers", 500, map[string]any{"type": "api_error", "message": "boom"})
		}},
		{"429 on the session", func(e *fntest.Env) {
			e.Proxy.Fail(http.MethodPost, "/v1/checkout/sessions", 429, map[string]any{"type": "rate_limit_error", "message": "slow down"})
		}},
		{"connection dropped on every try of the session", func(e *fntest.Env) { e.Proxy.Drop(http.MethodPost, "/v1/checkout/sessions", 10) }},
		{"connection dropped on every try of the customer", func(e *fntest.Env) { e.Proxy.Drop(http.MethodPost, "/v1/customers", 10) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fntest.Start(t, checkout.Spec, fntest.Options{})
			e.ListStoredSubscriptions(t)
			user := e.DB.CreateUser(t, "")
			token := e.Token(t, user, "")
			tt.fault(e)
			code, body := e.Post(t, token, `{"plan":"standard"}`)
			msg, _ := body["message"].(string)
			// Stripe's own 429 is passed on as 429 rate_limited.
			retryable := (code == http.StatusBadGateway && body["error"] == httpkit.CodeStripeError) ||
				(code == http.StatusTooManyRequests && body["error"] == httpkit.CodeRateLimited)
			if !retryable || !strings.Contains(strings.ToLower(msg), "try again") && !strings.Contains(strings.ToLower(msg), "retry") {
				t.Fatalf("answer %d %v, want 502 stripe_error (or 429) that says to try again", code, body)
			}
			e.Proxy.ClearFailures()
			// The user retries until the network is back (the dropped
			// connections registered are used up), then double-clicks.
			ok := 0
			for i := 0; i < 12 && ok < 2; i++ {
				if code, _ := e.Post(t, token, `{"plan":"standard"}`); code == http.StatusOK {
					ok++
				}
			}
			if ok < 2 {
				t.Fatal("checkout did not recover")
			}
			if n := distinctKeys(e, http.MethodPost, "/v1/customers"); n != 1 {
				t.Fatalf("%d distinct customer creations, want 1", n)
			}
			if cus := fntest.CustomerOf(t, e.DB, user); cus == "" {
				t.Fatal("no customer stored")
			}
		})
	}
}

// TestStripeFailsDuringCancel: a failed cancel changes nothing in the
// database and says to try again; the retry cancels once.
func TestStripeFailsDuringCancel(t *testing.T) {
	s := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	_, token := s.Subscribe(t, "faultcancel", fntest.Sub{Status: "active"})
	s.Proxy.Fail(http.MethodPost, "/v1/subscriptions/", 500, map[string]any{"type": "api_error", "message": "boom"})
	code, body := s.Post(t, token, `{}`)
	if code != http.StatusBadGateway || body["error"] != httpkit.CodeStripeError {
		t.Fatalf("answer %d %v, want 502 stripe_error", code, body)
	}
	if st := fntest.ReadSubscription(t, s.DB, "sub_faultcancel"); st.CancelAtPeriodEnd {
		t.Fatal("the database says cancelled although Stripe refused")
	}
	s.Proxy.ClearFailures()
	if code, body := s.Post(t, token, `{}`); code != http.StatusOK || body["cancelAtPeriodEnd"] != true {
		t.Fatalf("retry: %d %v", code, body)
	}
	if n := distinctKeys(s.Env, http.MethodPost, "/v1/subscriptions/sub_faultcancel"); n > 2 {
		t.Fatalf("%d distinct cancel requests", n)
	}
}
