package attacks

import (
	"net/http"
	"strings"
	"testing"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/create-checkout-session/checkout"
	"billing/functions/create-portal-session/portal"
	"billing/internal/stripetest/fntest"
	"billing/shared/httpkit"
)

// TestOtherUsersIDsInBodiesAreIgnored: the user is the token's, whatever
// the body says (userId, user_id, email, customer).
func TestOtherUsersIDsInBodiesAreIgnored(t *testing.T) {
	s := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	track(s.Env)
	attacker, attackerToken := s.Subscribe(t, "attacker", fntest.Sub{})
	victim, _ := s.Subscribe(t, "victim", fntest.Sub{Status: "active"})
	body := `{"userId":"` + victim + `","user_id":"` + victim + `","email":"victim@example.com","customer":"cus_victim","subscriptionId":"sub_victim"}`
	res, got := do(t, request{url: s.URL, token: attackerToken, body: body})
	wantError(t, res, got, http.StatusNotFound, httpkit.CodeNoSubscription)
	if n := s.Proxy.Count(http.MethodPost, "/v1/subscriptions/sub_victim"); n != 0 {
		t.Fatal("the victim's subscription was changed through Stripe")
	}
	if st := fntest.ReadSubscription(t, s.DB, "sub_victim"); st.CancelAtPeriodEnd {
		t.Fatal("the victim's subscription is scheduled to cancel")
	}

	c := track(fntest.Start(t, checkout.Spec, fntest.Options{DB: s.DB}))

	c.ListStoredSubscriptions(t)
	res, got = do(t, request{url: c.URL, token: c.Token(t, attacker, ""), body: `{"plan":"standard","userId":"` + victim + `","email":"victim@example.com"}`})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("checkout: %d %s", res.StatusCode, got)
	}
	reqs := c.Proxy.Requests(http.MethodPost, "/v1/checkout/sessions")
	if len(reqs) != 1 || reqs[0].Form.Get("client_reference_id") != attacker || reqs[0].Form.Get("metadata[supabase_uid]") != attacker {
		t.Fatalf("the session was not made for the token's user: %v", reqs)
	}
}

// TestOpenRedirectsThroughEveryPathField: every path field is relative to
// SITE_URL; anything that could leave it is a 400 before any Stripe call.
func TestOpenRedirectsThroughEveryPathField(t *testing.T) {
	c := track(fntest.Start(t, checkout.Spec, fntest.Options{}))
	c.ListStoredSubscriptions(t)
	p := track(fntest.Start(t, portal.Spec, fntest.Options{DB: c.DB}))
	evil := []string{
		"https://evil.example/phish", "//evil.example", "///evil.example", `/\evil.example`, `\\evil.example`,
		"javascript:alert(1)", "http:evil.example", "/%2F%2Fevil.example", " //evil.example", "/\t/evil.example",
		"@evil.example", "evil.example", "/ok\r\nLocation: https://evil.example",
	}
	for _, path := range evil {
		for _, tc := range []struct {
			env   *fntest.Env
			field string
			body  string
		}{
			{c, "successPath", `{"plan":"standard","successPath":` + quote(path) + `}`},
			{c, "cancelPath", `{"plan":"standard","cancelPath":` + quote(path) + `}`},
			{p, "returnPath", `{"returnPath":` + quote(path) + `}`},
		} {
			t.Run(tc.field+" "+path, func(t *testing.T) {
				// A user per case: the rate limit counts every call.
				user := c.DB.CreateUser(t, "")
				fntest.LinkCustomer(t, c.DB, user, "cus_redirect_"+user[:8])
				tc.env.Proxy.Reset()
				res, body := do(t, request{url: tc.env.URL, token: tc.env.Token(t, user, ""), body: tc.body})
				if res.StatusCode == http.StatusOK {
					for _, r := range tc.env.Proxy.Requests(http.MethodPost, "") {
						for _, k := range []string{"success_url", "cancel_url", "return_url"} {
							if u := r.Form.Get(k); u != "" && !strings.HasPrefix(u, fntest.SiteURL+"/") {
								t.Fatalf("%s %q sent to Stripe", k, u)
							}
						}
					}
					return // made relative to SITE_URL: harmless
				}
				wantError(t, res, body, http.StatusBadRequest, httpkit.CodeInvalidRequest)
				if n := len(tc.env.Proxy.Requests("", "")); n != 0 {
					t.Fatalf("%d Stripe calls for a refused path", n)
				}
			})
		}
	}
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`, "\r", `\r`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// TestHostileBodies: huge, deeply nested and mistyped JSON, and wrong
// content types, at the functions that take a body.
func TestHostileBodies(t *testing.T) {
	c := track(fntest.Start(t, checkout.Spec, fntest.Options{}))
	c.ListStoredSubscriptions(t)
	tests := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"over 64 KiB", "", `{"plan":"standard","x":"` + strings.Repeat("a", 70<<10) + `"}`, http.StatusRequestEntityTooLarge, httpkit.CodePayloadTooLarge},
		{"deeply nested", "", `{"plan":"standard","x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, http.StatusRequestEntityTooLarge, httpkit.CodePayloadTooLarge},
		{"nested under the limit", "", `{"plan":"standard","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, http.StatusOK, ""},
		{"plan as an object", "", `{"plan":{"$ne":null}}`, http.StatusBadRequest, httpkit.CodeInvalidRequest},
		{"two JSON values", "", `{"plan":"standard"}{"plan":"premium"}`, http.StatusBadRequest, httpkit.CodeInvalidRequest},
		{"not JSON", "", `plan=standard`, http.StatusBadRequest, httpkit.CodeInvalidRequest},
		{"form content type", "application/x-www-form-urlencoded", `plan=standard`, http.StatusUnsupportedMediaType, httpkit.CodeUnsupportedMedia},
		{"text/plain", "text/plain", `{"plan":"standard"}`, http.StatusUnsupportedMediaType, httpkit.CodeUnsupportedMedia},
		{"multipart", "multipart/form-data; boundary=x", "--x\r\n\r\n--x--", http.StatusUnsupportedMediaType, httpkit.CodeUnsupportedMedia},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Proxy.Reset()
			token := c.Token(t, c.DB.CreateUser(t, ""), "")
			res, body := do(t, request{url: c.URL, token: token, contentType: tt.contentType, body: tt.body})
			if tt.status == http.StatusOK {
				if res.StatusCode >= 500 {
					t.Fatalf("answer %d %s", res.StatusCode, body)
				}
				return
			}
			wantError(t, res, body, tt.status, tt.code)
			if n := len(c.Proxy.Requests("", "")); n != 0 {
				t.Fatalf("%d Stripe calls for a refused body", n)
			}
		})
	}
}
