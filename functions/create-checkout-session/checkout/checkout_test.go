package checkout_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/functions/create-checkout-session/checkout"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
	"billing/shared/function"
	"billing/shared/stripeclient"
)

const (
	successDefault = fntest.SiteURL + "/payment/success?session_id={CHECKOUT_SESSION_ID}"
	cancelDefault  = fntest.SiteURL + "/pricing"
)

// wantForm checks form values of a recorded Stripe request.
func wantForm(t *testing.T, r stripetest.Request, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := r.Form.Get(k); got != v {
			t.Errorf("%s %s: %s = %q, want %q", r.Method, r.Path, k, got, v)
		}
	}
}

func TestCheckoutBothPaths(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			e := startCheckout(t, fntest.Options{Path: path})
			user := e.DB.CreateUser(t, "buyer@example.com")
			other := e.DB.CreateUser(t, "other@example.com")
			token := e.Token(t, user, "buyer@example.com")

			// The first checkout creates the customer and links it at once.
			code, body := e.Post(t, token, `{"plan":"standard","priceId":"price_evil","userId":"`+other+`"}`)
			if code != http.StatusOK {
				t.Fatalf("status %d: %v", code, body)
			}
			if id, _ := body["sessionId"].(string); !strings.HasPrefix(id, "cs_") {
				t.Errorf("sessionId = %v", body["sessionId"])
			}
			if u, _ := body["url"].(string); !strings.HasPrefix(u, "https://checkout.stripe.com/") {
				t.Errorf("url = %v", body["url"])
			}
			customers := e.Proxy.Requests(http.MethodPost, "/v1/customers")
			if len(customers) != 1 {
				t.Fatalf("customer creations = %d, want 1", len(customers))
			}
			wantForm(t, customers[0], map[string]string{
				"email": "buyer@example.com", "metadata[supabase_uid]": user,
			})
			if customers[0].IdempotencyKey != checkout.CustomerIdempotencyKey(user) {
				t.Errorf("customer idempotency key %q", customers[0].IdempotencyKey)
			}
			linked := fntest.CustomerOf(t, e.DB, user)
			if !strings.HasPrefix(linked, "cus_") {
				t.Fatalf("profile customer = %q", linked)
			}
			if got := fntest.CustomerOf(t, e.DB, other); got != "" {
				t.Errorf("the other user got customer %q from a userId in the body", got)
			}
			sessions := e.Proxy.Requests(http.MethodPost, "/v1/checkout/sessions")
			if len(sessions) != 1 {
				t.Fatalf("session creations = %d, want 1", len(sessions))
			}
			first := sessions[0]
			wantForm(t, first, map[string]string{
				"mode":                   "subscription",
				"customer":               linked,
				"client_reference_id":    user,
				"metadata[supabase_uid]": user,
				"subscription_data[metadata][supabase_uid]": user,
				"line_items[0][price]":                      fntest.StandardPrice,
				"line_items[0][quantity]":                   "1",
				"success_url":                               successDefault,
				"cancel_url":                                cancelDefault,
				"allow_promotion_codes":                     "",
				"subscription_data[trial_period_days]":      "",
			})
			if !strings.HasPrefix(first.IdempotencyKey, "checkout-session:"+user+":") {
				t.Errorf("session idempotency key %q", first.IdempotencyKey)
			}

			// The second reuses the customer; its key is fresh; paths apply.
			e.Proxy.Reset()
			code, body = e.Post(t, token, `{"plan":"Premium","successPath":"/welcome?from=pricing#top","cancelPath":"/plans"}`)
			if code != http.StatusOK {
				t.Fatalf("second checkout: status %d: %v", code, body)
			}
			if n := e.Proxy.Count(http.MethodPost, "/v1/customers"); n != 0 {
				t.Errorf("second checkout created %d customers, want 0", n)
			}
			second := e.Proxy.Requests(http.MethodPost, "/v1/checkout/sessions")[0]
			wantForm(t, second, map[string]string{
				"customer":             linked,
				"line_items[0][price]": fntest.PremiumPrice,
				"success_url":          fntest.SiteURL + "/welcome?from=pricing&session_id={CHECKOUT_SESSION_ID}#top",
				"cancel_url":           fntest.SiteURL + "/plans",
			})
			if second.IdempotencyKey == first.IdempotencyKey || second.IdempotencyKey == "" {
				t.Errorf("idempotency keys %q then %q: want a fresh one per call", first.IdempotencyKey, second.IdempotencyKey)
			}
			// One list of the customer's subscriptions in Stripe (none), one
			// of its open sessions (none of ours: stripe-mock answers with a
			// fixture of another customer), one creation.
			if n := e.Proxy.Count("", "/v1/"); n != 3 || e.Proxy.Count(http.MethodGet, "/v1/checkout/sessions") != 1 ||
				e.Proxy.Count(http.MethodGet, "/v1/subscriptions") != 1 {
				t.Errorf("second checkout made %d Stripe calls, want the two lists and a creation", n)
			}
		})
	}
}

func TestCheckoutTrialDays(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plans.json")
	err := os.WriteFile(file, []byte(`{"free_plan":"free","plans":[{"id":"free"},
		{"id":"pro","price_ids":{"test":"price_pro_test"},"trial_days":14}]}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	e := startCheckout(t, fntest.Options{Env: map[string]string{"BILLING_PLANS_FILE": file}})
	user := e.DB.CreateUser(t, "trial@example.com")
	if code, body := e.Post(t, e.Token(t, user, "trial@example.com"), `{"plan":"pro"}`); code != 200 {
		t.Fatalf("status %d: %v", code, body)
	}
	wantForm(t, e.Proxy.Requests(http.MethodPost, "/v1/checkout/sessions")[0], map[string]string{
		"subscription_data[trial_period_days]": "14",
		"line_items[0][price]":                 "price_pro_test",
	})
}

// TestCheckoutParallel is the double-subscription test: ten parallel calls
// for one user create exactly one customer, and every session uses it.
func TestCheckoutParallel(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			e := startCheckout(t, fntest.Options{Path: path})
			user := e.DB.CreateUser(t, "parallel@example.com")
			token := e.Token(t, user, "parallel@example.com")
			const n = 10
			codes := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					codes[i], _ = e.Post(t, token, `{"plan":"standard"}`)
				}()
			}
			began := time.Now()
			close(start)
			wg.Wait()
			t.Logf("%d parallel checkouts over %s took %v", n, path, time.Since(began))
			for i, c := range codes {
				if c != http.StatusOK {
					t.Errorf("call %d: status %d", i, c)
				}
			}
			if c := e.Proxy.Count(http.MethodPost, "/v1/customers"); c != 1 {
				t.Fatalf("customer creations = %d, want exactly 1", c)
			}
			linked := fntest.CustomerOf(t, e.DB, user)
			sessions := e.Proxy.Requests(http.MethodPost, "/v1/checkout/sessions")
			if len(sessions) != n {
				t.Fatalf("sessions = %d, want %d", len(sessions), n)
			}
			keys := map[string]bool{}
			for _, s := range sessions {
				if s.Form.Get("customer") != linked {
					t.Errorf("session for customer %q, want %q", s.Form.Get("customer"), linked)
				}
				keys[s.IdempotencyKey] = true
			}
			if len(keys) != n {
				t.Errorf("%d distinct session idempotency keys, want %d", len(keys), n)
			}
		})
	}
}

func TestCheckoutAlreadySubscribed(t *testing.T) {
	e := startCheckout(t, fntest.Options{})
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	tests := []struct {
		name    string
		sub     *fntest.Sub
		byCust  bool // the subscription has no user yet, only the user's customer
		blocked bool
	}{
		{"active", &fntest.Sub{Status: "active"}, false, true},
		{"trialing", &fntest.Sub{Status: "trialing"}, false, true},
		{"past_due", &fntest.Sub{Status: "past_due"}, false, true},
		{"active, cancel scheduled, still running", &fntest.Sub{Status: "active", CancelAtPeriodEnd: true}, false, true},
		{"active by customer, user not attached yet", &fntest.Sub{Status: "active"}, true, true},
		{"canceled", &fntest.Sub{Status: "canceled"}, false, false},
		{"incomplete_expired", &fntest.Sub{Status: "incomplete_expired"}, false, false},
		// unpaid, incomplete, paused: TestCheckoutRefusesSubscriptionWaitingForPayment.
		{"active but its scheduled end passed", &fntest.Sub{Status: "active", CancelAtPeriodEnd: true, PeriodEnd: past}, false, false},
		{"active but cancel_at passed", &fntest.Sub{Status: "active", CancelAt: &past}, false, false},
		{"no subscription", nil, false, false},
		// A live-mode row in this test-mode deployment (a database shared by
		// staging and production) never blocks.
		{"active, of the other Stripe mode", &fntest.Sub{Status: "active", Livemode: true}, false, false},
		{"incomplete, of the other Stripe mode", &fntest.Sub{Status: "incomplete", Livemode: true}, false, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := e.DB.CreateUser(t, "")
			if tt.sub != nil {
				s := *tt.sub
				s.ID = "sub_block" + string(rune('a'+i))
				s.CustomerID = "cus_block" + string(rune('a'+i))
				if tt.byCust {
					fntest.LinkCustomer(t, e.DB, user, s.CustomerID)
				} else {
					s.UserID = user
				}
				fntest.InsertSubscription(t, e.DB, s)
			}
			e.Proxy.Reset()
			code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"premium"}`)
			if !tt.blocked {
				if code != http.StatusOK {
					t.Fatalf("status %d: %v", code, body)
				}
				if r := e.Proxy.Requests(http.MethodPost, "/v1/customers"); len(r) == 1 && r[0].Form.Has("email") {
					t.Errorf("a user without an email in the token sent email %q", r[0].Form.Get("email"))
				}
				return
			}
			if code != http.StatusConflict || body["error"] != "already_subscribed" {
				t.Fatalf("status %d: %v, want 409 already_subscribed", code, body)
			}
			if msg, _ := body["message"].(string); !strings.Contains(msg, "portal") {
				t.Errorf("message %q does not point to the portal", msg)
			}
			if n := e.Proxy.Count("", "/"); n != 0 {
				t.Errorf("%d Stripe calls for a refused checkout", n)
			}
		})
	}
}

func TestWithSessionID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://a.example/ok", "https://a.example/ok?session_id={CHECKOUT_SESSION_ID}"},
		{"https://a.example/ok?x=1", "https://a.example/ok?x=1&session_id={CHECKOUT_SESSION_ID}"},
		{"https://a.example/ok?", "https://a.example/ok?session_id={CHECKOUT_SESSION_ID}"},
		{"https://a.example/ok#done", "https://a.example/ok?session_id={CHECKOUT_SESSION_ID}#done"},
		{"https://a.example/ok?s={CHECKOUT_SESSION_ID}", "https://a.example/ok?s={CHECKOUT_SESSION_ID}"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := checkout.WithSessionID(tt.in); got != tt.want {
				t.Errorf("WithSessionID(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestCheckoutLeaseHeld: a call that cannot get the user's lease in time
// (another checkout holds it) is 409 checkout_in_progress and calls nobody;
// once the holder's lease expires, checkout works again.
func TestCheckoutLeaseHeld(t *testing.T) {
	e := startCheckout(t, fntest.Options{})
	sc := stripeclient.New(stripetest.Key, e.Proxy.URL, nil, nil)
	h := checkout.New(e.Deps.Verifier, e.Deps.Store, sc.Customers, sc.CheckoutSessions, sc.Subscriptions, e.Deps.Catalog,
		checkout.Options{SiteURL: fntest.SiteURL, LeaseWait: 300 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	srv := httptest.NewServer(function.Wrap(checkout.Name, e.Config, nil, h))
	t.Cleanup(srv.Close)
	e.URL = srv.URL + "/functions/v1/" + checkout.Name

	user := e.DB.CreateUser(t, "")
	token := e.Token(t, user, "")
	e.DB.MustExec(t, `select public.billing_checkout_lock(p_user_id => $1, p_ttl_seconds => 600)`, user)
	code, body := e.Post(t, token, `{"plan":"standard"}`)
	if code != http.StatusConflict || body["error"] != checkout.CodeCheckoutInProgress {
		t.Fatalf("%d %v, want 409 %s", code, body, checkout.CodeCheckoutInProgress)
	}
	if n := e.Proxy.Count("", "/"); n != 0 {
		t.Errorf("%d Stripe calls without the lease", n)
	}
	e.DB.MustExec(t, `update public.billing_checkout_locks set expires_at = now() where user_id = $1`, user)
	if code, body := e.Post(t, token, `{"plan":"standard"}`); code != http.StatusOK {
		t.Fatalf("after the lease expired: %d %v", code, body)
	}
}
