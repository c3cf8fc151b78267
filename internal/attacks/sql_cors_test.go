package attacks

import (
	"net/http"
	"testing"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/check-subscription/checksub"
	"billing/functions/create-checkout-session/checkout"
	"billing/internal/stripetest/fntest"
	"billing/shared/httpkit"
)

// sqlPayloads are strings that would break out of a quoted SQL literal or
// identifier if any were spliced into SQL.
var sqlPayloads = []string{
	`'; drop table public.subscriptions; --`,
	`standard' or '1'='1`,
	`"); delete from public.profiles; --`,
	`$$; truncate public.stripe_events; $$`,
	`\'; select pg_sleep(10); --`,
}

// tablesIntact fails t unless the billing tables still hold their rows.
func tablesIntact(t *testing.T, e *fntest.Env, wantSubs int) {
	t.Helper()
	var subs, profiles int
	if err := e.DB.Pool.QueryRow(t.Context(), `select (select count(*) from public.subscriptions), (select count(*) from public.profiles)`).Scan(&subs, &profiles); err != nil {
		t.Fatalf("the billing tables: %v", err)
	}
	if subs < wantSubs || profiles == 0 {
		t.Fatalf("subscriptions %d, profiles %d: rows are gone", subs, profiles)
	}
}

// TestSQLMetacharactersInEveryString: every string field that reaches
// the database (plan, the cancellation comment, paths) is passed as a
// parameter: refused when invalid, stored verbatim when free text, and
// never executed.
func TestSQLMetacharactersInEveryString(t *testing.T) {
	s := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	track(s.Env)
	c := track(fntest.Start(t, checkout.Spec, fntest.Options{DB: s.DB}))
	c.ListStoredSubscriptions(t)
	for i, payload := range sqlPayloads {
		t.Run(payload, func(t *testing.T) {
			user := c.DB.CreateUser(t, "")
			res, body := do(t, request{url: c.URL, token: c.Token(t, user, ""), body: `{"plan":` + quote(payload) + `}`})
			wantError(t, res, body, http.StatusBadRequest, httpkit.CodeInvalidRequest)
			res, body = do(t, request{url: c.URL, token: c.Token(t, user, ""), body: `{"plan":"standard","successPath":` + quote("/ok?x="+payload) + `}`})
			if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusBadRequest {
				t.Fatalf("path with SQL: %d %s", res.StatusCode, body)
			}

			_, token := s.Subscribe(t, "sql"+string(rune('a'+i)), fntest.Sub{Status: "active"})
			res, body = do(t, request{url: s.URL, token: token, body: `{"reason":` + quote(payload) + `}`})
			wantError(t, res, body, http.StatusBadRequest, httpkit.CodeInvalidRequest)
			res, body = do(t, request{url: s.URL, token: token, body: `{"reason":"other","comment":` + quote(payload) + `}`})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("cancel with a comment: %d %s", res.StatusCode, body)
			}
			tablesIntact(t, s.Env, i+1)
		})
	}
}

// TestCORSFromAnOriginNotAllowed: the answer to a foreign origin carries
// no Access-Control-Allow-Origin, so its browser page cannot read it; the
// allowed origin is answered.
func TestCORSFromAnOriginNotAllowed(t *testing.T) {
	e := track(fntest.Start(t, checksub.Spec, fntest.Options{}))
	token := e.Token(t, e.DB.CreateUser(t, ""), "")
	for _, tc := range []struct {
		origin, want string
	}{
		{"https://evil.example", ""},
		{"https://app.example.evil.example", ""},
		{"null", ""},
		{fntest.SiteURL, fntest.SiteURL},
	} {
		for _, method := range []string{http.MethodOptions, http.MethodGet} {
			t.Run(method+" "+tc.origin, func(t *testing.T) {
				res, _ := do(t, request{method: method, url: e.URL, token: token, header: map[string]string{
					"Origin": tc.origin, "Access-Control-Request-Method": "POST"}})
				if got := res.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
					t.Fatalf("Access-Control-Allow-Origin %q for origin %q, want %q", got, tc.origin, tc.want)
				}
				if tc.want == "" && res.Header.Get("Access-Control-Allow-Credentials") != "" {
					t.Fatal("credentials allowed for a foreign origin")
				}
			})
		}
	}
}
