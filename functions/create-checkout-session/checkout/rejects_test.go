package checkout_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
	"billing/shared/auth/authtest"
	"billing/shared/stripeclient"
)

func TestCheckoutRejects(t *testing.T) {
	e := startCheckout(t, fntest.Options{})
	user := e.DB.CreateUser(t, "r@example.com")
	token := e.Token(t, user, "r@example.com")
	tests := []struct {
		name       string
		call       fntest.Call
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{"no token", fntest.Call{Body: `{"plan":"standard"}`}, 401, "missing_token", ""},
		{"anon key", fntest.Call{Token: authtest.SignHS256(t, fntest.Secret, authtest.AnonKeyClaims("ref", time.Now())),
			Body: `{"plan":"standard"}`}, 401, "not_a_user_token", ""},
		{"wrong method", fntest.Call{Method: "GET", Token: token}, 405, "method_not_allowed", ""},
		{"wrong content type", fntest.Call{Token: token, ContentType: "text/plain", Body: `plan=standard`}, 415, "unsupported_media_type", ""},
		{"form content type", fntest.Call{Token: token, ContentType: "application/x-www-form-urlencoded", Body: `plan=standard`}, 415, "unsupported_media_type", ""},
		{"body over 64 KiB", fntest.Call{Token: token, Body: `{"plan":"standard","pad":"` + strings.Repeat("x", 64<<10) + `"}`}, 413, "payload_too_large", ""},
		{"malformed JSON", fntest.Call{Token: token, Body: `{"plan":`}, 400, "invalid_request", ""},
		{"plan not a string", fntest.Call{Token: token, Body: `{"plan":1}`}, 400, "invalid_request", "plan"},
		{"no plan", fntest.Call{Token: token, Body: `{}`}, 400, "invalid_request", `"standard"`},
		{"empty body", fntest.Call{Token: token}, 400, "invalid_request", "plan"},
		{"unknown plan", fntest.Call{Token: token, Body: `{"plan":"gold"}`}, 400, "invalid_request", "Unknown plan"},
		{"free plan", fntest.Call{Token: token, Body: `{"plan":"free"}`}, 400, "invalid_request", "needs no checkout"},
		{"a price ID as plan", fntest.Call{Token: token, Body: `{"plan":"` + fntest.StandardPrice + `"}`}, 400, "invalid_request", "Unknown plan"},
		{"absolute success URL", fntest.Call{Token: token, Body: `{"plan":"standard","successPath":"https://evil.example"}`}, 400, "invalid_request", "successPath"},
		{"protocol-relative success URL", fntest.Call{Token: token, Body: `{"plan":"standard","successPath":"//evil.example"}`}, 400, "invalid_request", "successPath"},
		{"absolute cancel URL", fntest.Call{Token: token, Body: `{"plan":"standard","cancelPath":"https://evil.example/x"}`}, 400, "invalid_request", "cancelPath"},
		{"protocol-relative cancel URL", fntest.Call{Token: token, Body: `{"plan":"standard","cancelPath":"//evil.example"}`}, 400, "invalid_request", "cancelPath"},
		{"backslash cancel URL", fntest.Call{Token: token, Body: `{"plan":"standard","cancelPath":"/\\evil.example"}`}, 400, "invalid_request", "cancelPath"},
		{"relative path", fntest.Call{Token: token, Body: `{"plan":"standard","successPath":"evil.example"}`}, 400, "invalid_request", "successPath"},
		{"javascript URL", fntest.Call{Token: token, Body: `{"plan":"standard","successPath":"javascript:alert(1)"}`}, 400, "invalid_request", "successPath"},
		{"control character", fntest.Call{Token: token, Body: `{"plan":"standard","successPath":"/a\r\nLocation: x"}`}, 400, "invalid_request", "successPath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := e.CheckReject(t, tt.call, tt.wantStatus, tt.wantCode)
			if msg, _ := body["message"].(string); !strings.Contains(msg, tt.wantInMsg) {
				t.Errorf("message %q does not mention %q", msg, tt.wantInMsg)
			}
		})
	}
	if got := fntest.CustomerOf(t, e.DB, user); got != "" {
		t.Errorf("rejected requests linked customer %q", got)
	}
}

func TestCheckoutStripeErrors(t *testing.T) {
	e := startCheckout(t, fntest.Options{})
	tests := []struct {
		name      string
		path      string
		status    int
		stripeErr map[string]any
		wantCode  string
		wantInMsg string
	}{
		{"invalid request says what to fix", "/v1/checkout/sessions", 400,
			map[string]any{"type": "invalid_request_error", "param": "line_items[0][price]", "message": "No such price"},
			"stripe_error", "line_items[0][price]"},
		{"card error", "/v1/customers", 402,
			map[string]any{"type": "card_error", "code": "card_declined", "message": "Your card was declined."},
			"stripe_error", "declined"},
		{"Stripe unavailable after retries", "/v1/checkout/sessions", 503,
			map[string]any{"type": "api_error", "message": "boom"}, "stripe_error", "try again"},
		{"rate limited", "/v1/checkout/sessions", 429,
			map[string]any{"type": "invalid_request_error", "code": "rate_limit", "message": "slow down"}, "rate_limited", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := e.DB.CreateUser(t, "")
			token := e.Token(t, user, "err"+user[:8]+"@example.com")
			e.Proxy.Reset()
			e.Proxy.Fail(http.MethodPost, tt.path, tt.status, tt.stripeErr)
			code, body := e.Post(t, token, `{"plan":"standard"}`)
			e.Proxy.ClearFailures()
			if body["error"] != tt.wantCode || (tt.wantCode == "stripe_error" && code != http.StatusBadGateway) {
				t.Fatalf("got %d %v, want %s", code, body, tt.wantCode)
			}
			if msg, _ := body["message"].(string); !strings.Contains(msg, tt.wantInMsg) {
				t.Errorf("message %q does not say %q", msg, tt.wantInMsg)
			}
			reqs := e.Proxy.Requests(http.MethodPost, tt.path)
			wantCalls := 1
			if tt.status == http.StatusServiceUnavailable {
				wantCalls += stripeclient.MaxNetworkRetries
			}
			if len(reqs) != wantCalls {
				t.Fatalf("the failing call was made %d times, want %d", len(reqs), wantCalls)
			}
			for _, r := range reqs[1:] {
				if r.IdempotencyKey != reqs[0].IdempotencyKey {
					t.Errorf("a retry changed the idempotency key: %q then %q", reqs[0].IdempotencyKey, r.IdempotencyKey)
				}
			}
			// Stripe's request ID is in the log, never in the body.
			if !logHas(e.Logs(), "stripe error", "req_stripetest_") {
				t.Error("Stripe's request ID was not logged")
			}
			for _, v := range body {
				if s, _ := v.(string); strings.Contains(s, "req_stripetest_") {
					t.Errorf("the body carries Stripe's request ID: %v", body)
				}
			}
			// The lease was given back: the next checkout goes through at once.
			began := time.Now()
			if code, body := e.Post(t, token, `{"plan":"standard"}`); code != http.StatusOK {
				t.Fatalf("checkout after the failure: %d %v", code, body)
			}
			if d := time.Since(began); d > 2*time.Second {
				t.Errorf("checkout after the failure took %v: the lease was not released", d)
			}
		})
	}
	for _, line := range strings.Split(e.Logs(), "\n") {
		if strings.Contains(line, "@example.com") {
			t.Errorf("a log line carries an email address: %s", line)
		}
	}
}

// logHas reports whether one log line holds every part.
func logHas(logs string, parts ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestCheckoutRetriesNetworkErrors: a cut connection is retried by
// stripe-go with the same idempotency key, so Stripe applies it once.
func TestCheckoutRetriesNetworkErrors(t *testing.T) {
	e := startCheckout(t, fntest.Options{})
	user := e.DB.CreateUser(t, "")
	e.Proxy.Drop(http.MethodPost, "/v1/customers", 1)
	e.Proxy.Drop(http.MethodPost, "/v1/checkout/sessions", 1)
	if code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"standard"}`); code != http.StatusOK {
		t.Fatalf("%d %v", code, body)
	}
	for _, path := range []string{"/v1/customers", "/v1/checkout/sessions"} {
		reqs := e.Proxy.Requests(http.MethodPost, path)
		if len(reqs) != 2 || reqs[0].IdempotencyKey == "" || reqs[0].IdempotencyKey != reqs[1].IdempotencyKey {
			t.Errorf("%s: %d requests, keys %q: want a retry with the same key", path, len(reqs), keys(reqs))
		}
	}
}

func keys(reqs []stripetest.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.IdempotencyKey)
	}
	return out
}
