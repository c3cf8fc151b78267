package webhook_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/storetest"
	"billing/internal/stripetest"
	"billing/internal/testdb"
	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/store"
)

// A JWT-shaped service key, so the REST path sends Authorization too.
const serviceKey = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl"

// TestBuiltFromTheEnvironment builds the function as main does (config,
// deps, Spec.Build, Wrap) over both data paths, with stripe-go against
// stripe-mock for the fetch and shared/mail against an httptest SendGrid.
func TestBuiltFromTheEnvironment(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			db := testdb.New(t)
			createUser(t, db, user1, "u1@example.com")
			proxy := stripetest.NewProxy(t, stripetest.MockURL(t))
			sg := newSendGridCounter(t)
			env := map[string]string{
				"STRIPE_MODE": "test", "STRIPE_SECRET_KEY": stripetest.Key, "STRIPE_API_BASE": proxy.URL,
				"STRIPE_WEBHOOK_SECRET":         oldSecret + "," + secret,
				"STRIPE_STANDARD_PRICE_ID_TEST": priceStandard, "STRIPE_PREMIUM_PRICE_ID_TEST": pricePremium,
				"STRIPE_BILLING_PORTAL_RETURN_URL": "https://app.example/settings/billing",
				"SITE_URL":                         "https://app.example",
				"SENDGRID_API_KEY":                 "SG.test-key", "SENDGRID_API_BASE": sg.URL,
				"EMAIL_FROM": "billing@example.com", "EMAIL_LOCALE": "ja",
			}
			switch path {
			case "pgx":
				env["DATABASE_URL"] = db.URL
			case "rest":
				rest := storetest.NewREST(t, db, serviceKey)
				env["SUPABASE_URL"] = rest.URL
				env["SUPABASE_SERVICE_ROLE_KEY"] = serviceKey
			}
			for k, v := range env { // the catalog's price variables are read by NewDeps
				t.Setenv(k, v)
			}
			cfg, err := config.Load(func(k string) string { return env[k] }, webhook.Spec.Needs)
			if err != nil {
				t.Fatal(err)
			}
			deps, err := function.NewDeps(context.Background(), cfg, testLog)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(deps.Close)
			if _, isREST := deps.Store.Caller.(*store.REST); isREST != (path == "rest") {
				t.Fatalf("data path %s not chosen from the environment", path)
			}
			h, err := webhook.Spec.Build(context.Background(), deps)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(function.Wrap(webhook.Name, cfg, testLog, h))
			t.Cleanup(srv.Close)
			post := func(body []byte) int {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/functions/v1/handle-stripe-webhook", bytes.NewReader(body))
				req.Header.Set("Stripe-Signature", sign(body, secret, time.Now()))
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}

			t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
			s := activeSub("sub_wired", "cus_wired", t0)
			if code := post(envelope("evt_wired_1", "customer.subscription.created", vBasil, t0, false, s.object(vBasil))); code != 200 {
				t.Fatalf("created: %d", code)
			}
			sg.mu.Lock()
			sent := len(sg.byRow)
			sg.mu.Unlock()
			if sent != 1 {
				t.Fatalf("the welcome email was sent %d times", sent)
			}

			// A same-second update is ordered by retrieving the subscription
			// with stripe-go (stripe-mock's answer carries our state).
			fetched := s
			fetched.Price = pricePremium
			proxy.Rewrite(http.MethodGet, "/v1/subscriptions/", func(req stripetest.Request, body map[string]any) {
				stripetest.SetSubscription(req, body, stripetest.Subscription{ID: "sub_wired", CustomerID: "cus_wired",
					Status: "active", PriceID: pricePremium, UserID: user1, Created: t0,
					CurrentPeriodStart: t0, CurrentPeriodEnd: s.PeriodEnd})
			})
			s.CancelAtPeriodEnd = true
			if code := post(envelope("evt_wired_2", "customer.subscription.updated", vBasil, t0, false, s.object(vBasil))); code != 200 {
				t.Fatalf("same-second update: %d", code)
			}
			if n := proxy.Count(http.MethodGet, "/v1/subscriptions/sub_wired"); n != 1 {
				t.Fatalf("stripe-go retrieved the subscription %d times", n)
			}
			if r := proxy.Requests(http.MethodGet, "/v1/subscriptions/sub_wired")[0]; r.StripeVersion != "2023-10-16" {
				t.Fatalf("Stripe-Version %q", r.StripeVersion)
			}
			var plan string
			var stateAt time.Time
			if err := db.Pool.QueryRow(context.Background(), `select plan, state_at from subscriptions where id = 'sub_wired'`).Scan(&plan, &stateAt); err != nil {
				t.Fatal(err)
			}
			if plan != "premium" || !stateAt.After(t0) {
				t.Fatalf("fetched state not applied: %s at %v", plan, stateAt)
			}
			// The portal path of the payment-failed email comes from the return URL.
			inv := invoice{ID: "in_wired", Customer: "cus_wired", Subscription: "sub_wired", Status: "open", Reason: "subscription_cycle", Attempt: 1}
			if code := post(envelope("evt_wired_3", "invoice.payment_failed", v2023, t0.Add(time.Second), false, inv.object(v2023))); code != 200 {
				t.Fatalf("payment failed: %d", code)
			}
			var portal string
			if err := db.Pool.QueryRow(context.Background(), `select template_data->>'portal_path' from email_outbox where kind = 'payment_failed'`).Scan(&portal); err != nil {
				t.Fatal(err)
			}
			if portal != "/settings/billing" {
				t.Fatalf("portal path %q", portal)
			}

			// Stripe unreachable while an event needs a fetch: 502, retried later.
			proxy.Fail(http.MethodGet, "/v1/subscriptions/", http.StatusInternalServerError, map[string]any{"type": "api_error", "message": "down"})
			s.Price = priceStandard
			if code := post(envelope("evt_wired_4", "customer.subscription.updated", vBasil, stateAt, false, s.object(vBasil))); code != http.StatusBadGateway {
				t.Fatalf("fetch failure: %d", code)
			}
			var status string
			if err := db.Pool.QueryRow(context.Background(), `select status from stripe_events where id = 'evt_wired_4'`).Scan(&status); err != nil || status != "failed" {
				t.Fatalf("event row %q %v", status, err)
			}
		})
	}
}
