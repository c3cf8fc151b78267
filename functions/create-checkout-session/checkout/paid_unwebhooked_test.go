package checkout_test

import (
	"net/http"
	"testing"
	"time"

	"billing/functions/create-checkout-session/checkout"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
)

// TestCheckoutAfterAPaidSessionNotYetWebhooked: the user paid a Checkout
// Session a minute ago (status complete, its subscription active in
// Stripe), but checkout.session.completed and customer.subscription.created
// have not reached the webhook yet, so the database has no subscription.
// The user opens the pricing page again (or a second tab) and starts a new
// checkout (DESIGN.md trap 7, and "a user never gets two paid
// subscriptions through our checkout"): 409 already_subscribed, and no
// second session. Before, the paid session was not open any more, the
// database showed nothing, and a second session was created.
func TestCheckoutAfterAPaidSessionNotYetWebhooked(t *testing.T) {
	e := fntest.Start(t, checkout.Spec, fntest.Options{})
	user := e.DB.CreateUser(t, "")
	fntest.LinkCustomer(t, e.DB, user, "cus_paid_late")
	paid := map[string]any{
		"id": "cs_paid_late", "object": "checkout.session", "customer": "cus_paid_late",
		"mode": "subscription", "status": "complete", "payment_status": "paid",
		"subscription": "sub_paid_late", "client_reference_id": user,
		"metadata":   map[string]any{"supabase_uid": user, "plan": "standard", "price_id": fntest.StandardPrice},
		"expires_at": time.Now().Add(40 * time.Minute).Unix(), "created": time.Now().Add(-2 * time.Minute).Unix(),
	}
	// Stripe lists the session under status=complete (or no status filter),
	// never under status=open.
	e.Proxy.Rewrite(http.MethodGet, "/v1/checkout/sessions", func(req stripetest.Request, body map[string]any) {
		if req.Path != "/v1/checkout/sessions" {
			return
		}
		data := []any{}
		if st := req.Form.Get("status"); st == "" || st == "complete" {
			data = append(data, paid)
		}
		body["data"], body["has_more"] = data, false
	})
	// The customer's subscriptions in Stripe: the one just paid, active.
	e.Proxy.Rewrite(http.MethodGet, "/v1/subscriptions", func(req stripetest.Request, body map[string]any) {
		if req.Path != "/v1/subscriptions" {
			return
		}
		if data, ok := body["data"].([]any); ok {
			for _, d := range data {
				if m, ok := d.(map[string]any); ok {
					m["id"], m["customer"], m["status"] = "sub_paid_late", "cus_paid_late", "active"
				}
			}
		}
	})
	code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"standard"}`)
	created := e.Proxy.Count(http.MethodPost, "/v1/checkout/sessions") - len(expired(e.Proxy))
	t.Logf("answer %d %v; Stripe requests: %d session creations", code, body, created)
	if code != http.StatusConflict || body["error"] != "already_subscribed" || created != 0 {
		t.Fatalf("a second Checkout Session was created (%d, %d created) although the first was paid and is only waiting for its webhook; want 409 already_subscribed and no new session", code, created)
	}
}
