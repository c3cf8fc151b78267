package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"billing/functions/create-portal-session/portal"
	"billing/internal/stripetest/fntest"
)

// customer makes a user with a linked Stripe customer ("" for none) and
// returns the user's token.
func customer(t *testing.T, e *fntest.Env, cus string) string {
	t.Helper()
	user := e.DB.CreateUser(t, "")
	if cus != "" {
		fntest.LinkCustomer(t, e.DB, user, cus)
	}
	return e.Token(t, user, "")
}

func TestPortalBothPaths(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			e := fntest.Start(t, portal.Spec, fntest.Options{Path: path})
			token := customer(t, e, "cus_portal"+path)
			tests := []struct {
				name, body, wantReturn string
			}{
				{"default return", `{}`, fntest.SiteURL + "/account"},
				{"empty body", ``, fntest.SiteURL + "/account"},
				{"return path", `{"returnPath":"/settings/billing?tab=plan"}`, fntest.SiteURL + "/settings/billing?tab=plan"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e.Proxy.Reset()
					code, body := e.Post(t, token, tt.body)
					if code != http.StatusOK {
						t.Fatalf("status %d: %v", code, body)
					}
					if u, _ := body["url"].(string); !strings.HasPrefix(u, "https://") {
						t.Errorf("url = %v", body["url"])
					}
					reqs := e.Proxy.Requests(http.MethodPost, "/v1/billing_portal/sessions")
					if len(reqs) != 1 {
						t.Fatalf("portal sessions = %d", len(reqs))
					}
					r := reqs[0]
					if r.Form.Get("customer") != "cus_portal"+path || r.Form.Get("return_url") != tt.wantReturn {
						t.Errorf("form = %v, want return_url %s", r.Form, tt.wantReturn)
					}
					if !strings.HasPrefix(r.IdempotencyKey, "portal-session:") {
						t.Errorf("idempotency key %q", r.IdempotencyKey)
					}
				})
			}
		})
	}
}

func TestPortalConfiguredReturnURL(t *testing.T) {
	const configured = "https://app.example/mypage/billing"
	e := fntest.Start(t, portal.Spec, fntest.Options{Env: map[string]string{"STRIPE_BILLING_PORTAL_RETURN_URL": configured}})
	token := customer(t, e, "cus_configured")
	for body, want := range map[string]string{
		`{}`:                        configured,
		`{"returnPath":"/pricing"}`: fntest.SiteURL + "/pricing",
	} {
		e.Proxy.Reset()
		if code, b := e.Post(t, token, body); code != 200 {
			t.Fatalf("%s: %d %v", body, code, b)
		}
		if got := e.Proxy.Requests(http.MethodPost, "/v1/billing_portal/sessions")[0].Form.Get("return_url"); got != want {
			t.Errorf("%s: return_url %q, want %q", body, got, want)
		}
	}
}

// TestPortalOnlyOwnCustomer: whatever the body says, the portal opens for
// the caller's own customer, and a user who never checked out gets 404.
func TestPortalOnlyOwnCustomer(t *testing.T) {
	e := fntest.Start(t, portal.Spec, fntest.Options{})
	_ = customer(t, e, "cus_victim")
	tokenB := customer(t, e, "cus_attacker")
	tokenC := customer(t, e, "")
	body := `{"customerId":"cus_victim","customer":"cus_victim","stripeCustomerId":"cus_victim"}`

	if code, b := e.Post(t, tokenB, body); code != 200 {
		t.Fatalf("B: %d %v", code, b)
	}
	code, b := e.Post(t, tokenC, body)
	if code != http.StatusNotFound || b["error"] != "no_customer" {
		t.Fatalf("C: %d %v, want 404 no_customer", code, b)
	}
	reqs := e.Proxy.Requests("", "/v1/")
	if len(reqs) != 1 || reqs[0].Form.Get("customer") != "cus_attacker" {
		t.Fatalf("Stripe calls %+v", reqs)
	}
}

func TestPortalRejects(t *testing.T) {
	e := fntest.Start(t, portal.Spec, fntest.Options{})
	token := customer(t, e, "cus_rejects")
	tests := []struct {
		name       string
		call       fntest.Call
		wantStatus int
		wantCode   string
	}{
		{"no token", fntest.Call{Body: `{}`}, 401, "missing_token"},
		{"wrong method", fntest.Call{Method: "GET", Token: token}, 405, "method_not_allowed"},
		{"wrong content type", fntest.Call{Token: token, ContentType: "text/plain", Body: `{}`}, 415, "unsupported_media_type"},
		{"body over 64 KiB", fntest.Call{Token: token, Body: `{"x":"` + strings.Repeat("x", 64<<10) + `"}`}, 413, "payload_too_large"},
		{"absolute return URL", fntest.Call{Token: token, Body: `{"returnPath":"https://evil.example"}`}, 400, "invalid_request"},
		{"protocol-relative return URL", fntest.Call{Token: token, Body: `{"returnPath":"//evil.example"}`}, 400, "invalid_request"},
		{"backslash return URL", fntest.Call{Token: token, Body: `{"returnPath":"/\\evil.example"}`}, 400, "invalid_request"},
		{"return path not a string", fntest.Call{Token: token, Body: `{"returnPath":true}`}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.CheckReject(t, tt.call, tt.wantStatus, tt.wantCode)
		})
	}
}

func TestPortalStripeError(t *testing.T) {
	e := fntest.Start(t, portal.Spec, fntest.Options{})
	token := customer(t, e, "cus_portalerr")
	e.Proxy.Fail(http.MethodPost, "/v1/billing_portal/sessions", 400, map[string]any{"type": "invalid_request_error",
		"message": "You can't create a portal session in test mode until you save your customer portal settings"})
	code, body := e.Post(t, token, `{}`)
	if code != http.StatusBadGateway || body["error"] != "stripe_error" {
		t.Fatalf("%d %v, want 502 stripe_error", code, body)
	}
	if !strings.Contains(e.Logs(), "req_stripetest_") {
		t.Error("Stripe's request ID was not logged")
	}
}
