package function_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"billing/functions/create-portal-session/portal"
	"billing/internal/stripetest/fntest"
	"billing/shared/function"
	"billing/shared/httpkit"
)

// post sends an empty JSON body with token and returns the answer.
func post(t *testing.T, url, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestStripeCallingFunctionsAreRateLimitedPerUser is finding 6 of the
// security review: one account could call a Stripe-calling function as
// fast as it liked and burn the Stripe API rate limit the webhook's
// fetches also need. The limit is per user and function, counted in the
// database (so it holds across Lambda instances), and answered 429
// rate_limited with Retry-After, before any Stripe call.
func TestStripeCallingFunctionsAreRateLimitedPerUser(t *testing.T) {
	rule := function.RateLimits[portal.Name]
	if rule.Limit < 1 {
		t.Fatalf("no rate limit for %s", portal.Name)
	}
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			e := fntest.Start(t, portal.Spec, fntest.Options{Path: path})
			user := e.DB.CreateUser(t, "")
			fntest.LinkCustomer(t, e.DB, user, "cus_rate_"+path)
			token := e.Token(t, user, "")
			// A second instance of the function over the same database
			// shares the count.
			other := fntest.Start(t, portal.Spec, fntest.Options{Path: path, DB: e.DB})

			// (On the REST path each instance has its own SUPABASE_URL, so
			// its own issuer.)
			otherToken := other.Token(t, user, "")
			for i := range rule.Limit {
				url, tok := e.URL, token
				if i%2 == 1 {
					url, tok = other.URL, otherToken
				}
				if res, body := post(t, url, tok); res.StatusCode != http.StatusOK {
					t.Fatalf("call %d of %d: %d %s", i+1, rule.Limit, res.StatusCode, body)
				}
			}
			stripeCalls := e.Proxy.Count(http.MethodPost, "/v1/billing_portal/sessions") +
				other.Proxy.Count(http.MethodPost, "/v1/billing_portal/sessions")

			for url, tok := range map[string]string{e.URL: token, other.URL: otherToken} {
				res, body := post(t, url, tok)
				if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, `"error":"`+httpkit.CodeRateLimited+`"`) {
					t.Fatalf("call over the limit: %d %s, want 429 %s", res.StatusCode, body, httpkit.CodeRateLimited)
				}
				secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
				if err != nil || secs < 1 || secs > int(rule.Window.Seconds()) {
					t.Fatalf("Retry-After %q, want 1..%v seconds", res.Header.Get("Retry-After"), rule.Window.Seconds())
				}
			}
			if got := e.Proxy.Count(http.MethodPost, "/v1/billing_portal/sessions") +
				other.Proxy.Count(http.MethodPost, "/v1/billing_portal/sessions"); got != stripeCalls {
				t.Fatalf("Stripe was called %d times for calls over the limit", got-stripeCalls)
			}

			// Another user is not limited by the first one's calls.
			second := e.DB.CreateUser(t, "")
			fntest.LinkCustomer(t, e.DB, second, "cus_rate2_"+path)
			if res, body := post(t, e.URL, e.Token(t, second, "")); res.StatusCode != http.StatusOK {
				t.Fatalf("another user: %d %s", res.StatusCode, body)
			}
			// A bad token is still a 401, not counted nor limited.
			if res, _ := post(t, e.URL, "not-a-token"); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("bad token: %d", res.StatusCode)
			}
		})
	}
}
