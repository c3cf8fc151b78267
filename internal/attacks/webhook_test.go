package attacks

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/stripetest/fntest"
	"billing/shared/httpkit"

	stripewebhook "github.com/stripe/stripe-go/v76/webhook"
)

// subscriptionEvent is a customer.subscription.created event of the
// current API shape for user, in test or live mode.
func subscriptionEvent(t *testing.T, id, sub, user string, livemode bool, at time.Time) []byte {
	t.Helper()
	end := at.Add(30 * 24 * time.Hour).Unix()
	price := fntest.StandardPrice
	if livemode {
		price = "price_std_live"
	}
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": "customer.subscription.created", "api_version": "2025-03-31.basil",
		"created": at.Unix(), "livemode": livemode,
		"data": map[string]any{"object": map[string]any{
			"id": sub, "object": "subscription", "customer": "cus_" + sub, "status": "active", "livemode": livemode,
			"created": at.Unix(), "start_date": at.Unix(), "cancel_at_period_end": false,
			"metadata": map[string]any{"supabase_uid": user},
			"items": map[string]any{"object": "list", "data": []any{map[string]any{
				"id": "si_" + sub, "object": "subscription_item", "quantity": 1,
				"current_period_start": at.Unix(), "current_period_end": end,
				"price": map[string]any{"id": price, "object": "price"},
			}}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signed signs payload for the webhook at time at.
func signed(payload []byte, at time.Time) string {
	return stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{
		Payload: payload, Secret: webhookSecret, Timestamp: at}).Header
}

func rowsOf(t *testing.T, e *fntest.Env, sub string) int {
	t.Helper()
	var n int
	if err := e.DB.Pool.QueryRow(t.Context(), `select count(*) from public.subscriptions where id = $1`, sub).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWebhookReplaysAndModes: a genuine event replayed after the
// tolerance, a signature of another secret, and a test-mode event sent
// to a live deployment change nothing.
func TestWebhookReplaysAndModes(t *testing.T) {
	test := track(fntest.Start(t, webhook.Spec, fntest.Options{Env: map[string]string{"STRIPE_WEBHOOK_SECRET": webhookSecret}}))
	user := test.DB.CreateUser(t, "")
	now := time.Now()

	t.Run("fresh event applies (control)", func(t *testing.T) {
		ev := subscriptionEvent(t, "evt_fresh", "sub_fresh", user, false, now)
		res, body := do(t, request{url: test.URL, body: string(ev), header: map[string]string{"Stripe-Signature": signed(ev, now)}})
		if res.StatusCode != http.StatusOK || rowsOf(t, test, "sub_fresh") != 1 {
			t.Fatalf("answer %d %s", res.StatusCode, body)
		}
	})
	t.Run("replayed outside the tolerance", func(t *testing.T) {
		ev := subscriptionEvent(t, "evt_replayed", "sub_replayed", user, false, now.Add(-time.Hour))
		old := now.Add(-webhook.Tolerance - time.Minute)
		res, body := do(t, request{url: test.URL, body: string(ev), header: map[string]string{"Stripe-Signature": signed(ev, old)}})
		wantError(t, res, body, http.StatusBadRequest, httpkit.CodeInvalidSignature)
		if rowsOf(t, test, "sub_replayed") != 0 {
			t.Fatal("a replayed event was applied")
		}
	})
	t.Run("body changed after signing", func(t *testing.T) {
		ev := subscriptionEvent(t, "evt_changed", "sub_changed", user, false, now)
		sig := signed(ev, now)
		ev = subscriptionEvent(t, "evt_changed", "sub_changed", test.DB.CreateUser(t, ""), false, now)
		res, body := do(t, request{url: test.URL, body: string(ev), header: map[string]string{"Stripe-Signature": sig}})
		wantError(t, res, body, http.StatusBadRequest, httpkit.CodeInvalidSignature)
	})

	live := track(fntest.Start(t, webhook.Spec, fntest.Options{DB: test.DB, Env: map[string]string{
		"STRIPE_WEBHOOK_SECRET": webhookSecret, "STRIPE_MODE": "live", "STRIPE_SECRET_KEY": "sk_live_attackListLiveKey",
		"STRIPE_STANDARD_PRICE_ID_LIVE": "price_std_live", "STRIPE_PREMIUM_PRICE_ID_LIVE": "price_prem_live",
	}}))
	t.Run("test-mode event in a live deployment", func(t *testing.T) {
		ev := subscriptionEvent(t, "evt_testmode", "sub_testmode", user, false, now)
		res, body := do(t, request{url: live.URL, body: string(ev), header: map[string]string{"Stripe-Signature": signed(ev, now)}})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("answer %d %s, want 200 (ignored, so Stripe stops retrying)", res.StatusCode, body)
		}
		if rowsOf(t, live, "sub_testmode") != 0 {
			t.Fatal("a test-mode event changed live data")
		}
	})
}
