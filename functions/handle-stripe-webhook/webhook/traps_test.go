package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/shared/httpkit"
)

const user1 = "11111111-1111-4111-8111-111111111111"

// activeSub is a standard subscription of user1, renewing in 20 days.
func activeSub(id, customer string, at time.Time) sub {
	return sub{ID: id, Customer: customer, Status: "active", Price: priceStandard, UID: user1,
		Created: at, PeriodStart: at, PeriodEnd: at.Add(20 * 24 * time.Hour)}
}

func TestSignatureTraps(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC().Truncate(time.Second)
	body := envelope("evt_sig", "customer.subscription.created", v2023, now, false,
		activeSub("sub_sig", "cus_sig", now).object(v2023))
	tests := []struct {
		name     string
		sig      string
		body     []byte
		wantCode int
		wantErr  string
	}{
		{"missing header", "", body, 400, "invalid_signature"},
		{"garbage header", "not-a-signature", body, 400, "invalid_signature"},
		{"wrong secret", sign(body, "whsec_someone_else", now), body, 400, "invalid_signature"},
		{"body changed after signing", sign(body, secret, now), append(bytes.Clone(body), ' '), 400, "invalid_signature"},
		{"expired timestamp", sign(body, secret, time.Now().Add(-301*time.Second)), body, 400, "invalid_signature"},
		{"timestamp 200 s old is within tolerance", sign(body, secret, time.Now().Add(-200*time.Second)), body, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := e.post(tt.body, tt.sig)
			if code != tt.wantCode || (tt.wantErr != "" && out["error"] != tt.wantErr) {
				t.Fatalf("got %d %v, want %d %s", code, out, tt.wantCode, tt.wantErr)
			}
		})
	}
	if n := e.count(`select count(*) from stripe_events`); n != 1 {
		t.Fatalf("only the one good delivery may be recorded, got %d events", n)
	}
}

func TestRotatedSecrets(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	for i, s := range []string{secret, oldSecret, "whsec_unknown_secret"} {
		body := envelope("evt_rot_"+string(rune('a'+i)), "customer.created", v2023, now, false,
			map[string]any{"id": "cus_rot", "object": "customer"})
		code, out := e.post(body, sign(body, s, now))
		want := 200
		if i == 2 {
			want = 400
		}
		if code != want {
			t.Fatalf("secret %d: %d %v, want %d", i, code, out, want)
		}
	}
	// Stripe sends one v1 signature per active secret during a rotation.
	body := envelope("evt_rot_both", "customer.created", v2023, now, false, map[string]any{"id": "cus_rot"})
	both := sign(body, "whsec_unknown_secret", now) + ",v1=" + strings.SplitN(sign(body, oldSecret, now), "v1=", 2)[1]
	if code, out := e.post(body, both); code != 200 {
		t.Fatalf("two signatures, one of them ours: %d %v", code, out)
	}
}

func TestBodyTraps(t *testing.T) {
	e := newEnv(t)
	big := append([]byte(`{"id":"evt_big","object":"event","type":"x","created":1,"data":{"object":{"pad":"`),
		bytes.Repeat([]byte("x"), httpkit.WebhookBodyLimit)...)
	big = append(big, []byte(`"}}}`)...)
	if code, out := e.deliver(big); code != 413 || out["error"] != "payload_too_large" {
		t.Fatalf("body over 1 MiB: %d %v", code, out)
	}
	for name, body := range map[string]string{
		"malformed JSON":         `{"id": "evt_bad", "type": `,
		"not an event":           `{"id": "cus_1", "object": "customer"}`,
		"event without object":   `{"id": "evt_x", "object": "event", "type": "invoice.paid", "created": 1, "data": {}}`,
		"subscription gibberish": `{"id":"evt_y","object":"event","type":"customer.subscription.updated","created":1,"livemode":false,"data":{"object":{"object":"subscription"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if code, out := e.deliver([]byte(body)); code != 400 || out["error"] != "invalid_request" {
				t.Fatalf("%d %v", code, out)
			}
		})
	}
	if code, _ := e.post(nil, ""); code != 400 {
		t.Fatalf("empty body: %d", code)
	}
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code != 405 {
		t.Fatalf("GET: %d", rec.Code)
	}
	if n := e.count(`select count(*) from stripe_events`); n != 0 {
		t.Fatalf("rejected bodies must not be recorded, got %d", n)
	}
}

func TestUnknownTypeAndOtherMode(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	out := e.mustDeliver(envelope("evt_unknown", "charge.refunded", v2023, now, false, map[string]any{"id": "ch_1", "object": "charge"}))
	if out["status"] != "ignored" {
		t.Fatalf("unknown type: %v", out)
	}
	if s := e.scalar(`select status from stripe_events where id = 'evt_unknown'`); s != "ignored" {
		t.Fatalf("unknown type recorded as %v", s)
	}
	// A test-mode event reaching the live endpoint changes nothing.
	live := newEnvOn(t, e.db, e.syncer.Catalog, func(o *webhook.Options) { o.Mode = "live" })
	createUser(t, e.db, user1, "u1@example.com")
	body := envelope("evt_testmode", "customer.subscription.created", v2023, now, false,
		activeSub("sub_tm", "cus_tm", now).object(v2023))
	out = live.mustDeliver(body)
	if out["status"] != "ignored_mode" {
		t.Fatalf("test event on live: %v", out)
	}
	if n := e.count(`select count(*) from stripe_events where id = 'evt_testmode'`) + e.count(`select count(*) from subscriptions`); n != 0 {
		t.Fatalf("test event on live wrote %d rows", n)
	}
	// And the reverse: a live event on the test endpoint.
	liveSub := activeSub("sub_live", "cus_live", now)
	liveSub.Livemode = true
	out = e.mustDeliver(envelope("evt_livemode", "customer.subscription.created", v2023, now, true, liveSub.object(v2023)))
	if out["status"] != "ignored_mode" || e.count(`select count(*) from subscriptions`) != 0 {
		t.Fatalf("live event on test: %v", out)
	}
}

func TestAPIVersionsAndPeriodShapes(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	now := time.Now().UTC().Truncate(time.Second)
	for i, v := range []string{v2023, vBasil, "", "2026-01-28.clover"} {
		s := activeSub("sub_shape_"+string(rune('a'+i)), "cus_shape", now)
		s.PeriodEnd = now.Add(time.Duration(10+i) * 24 * time.Hour)
		out := e.mustDeliver(envelope("evt_shape_"+string(rune('a'+i)), "customer.subscription.created", v, now, false, s.object(v)))
		if out["status"] != "processed" {
			t.Fatalf("version %q: %v", v, out)
		}
		end := e.scalar(`select current_period_end from subscriptions where id = $1`, s.ID)
		if got, ok := end.(time.Time); !ok || !got.Equal(s.PeriodEnd) {
			t.Fatalf("version %q: period end %v, want %v", v, end, s.PeriodEnd)
		}
		if apiV := e.scalar(`select coalesce(api_version, '') from stripe_events where id = $1`, "evt_shape_"+string(rune('a'+i))); apiV != v {
			t.Fatalf("api_version recorded %v, want %q", apiV, v)
		}
	}
	// Both invoice shapes lead to their subscription.
	for i, v := range []string{v2023, vBasil} {
		inv := invoice{ID: "in_shape_" + v[:4], Customer: "cus_shape", Subscription: "sub_shape_" + string(rune('a'+i)),
			Status: "open", Reason: "subscription_cycle", Attempt: 1}
		out := e.mustDeliver(envelope("evt_inv_"+v[:4], "invoice.payment_failed", v, now, false, inv.object(v)))
		if out["status"] != "processed" {
			t.Fatalf("invoice %s: %v", v, out)
		}
	}
	if n := e.count(`select count(*) from email_outbox where kind = 'payment_failed' and template_data->>'subscription_id' like 'sub_shape_%'`); n != 2 {
		t.Fatalf("payment_failed emails of both invoice shapes: %d", n)
	}
	if e.truth.fetches.Load() != 0 {
		t.Fatalf("stored subscriptions must not be fetched")
	}
}

func TestBase64BodyThroughLambda(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	now := time.Now()
	body := envelope("evt_lambda", "customer.subscription.created", vBasil, now, false, activeSub("sub_lambda", "cus_lambda", now).object(vBasil))
	ev := events.APIGatewayV2HTTPRequest{
		RawPath:         "/functions/v1/handle-stripe-webhook",
		Headers:         map[string]string{"stripe-signature": sign(body, secret, now), "content-type": "application/json"},
		Body:            base64.StdEncoding.EncodeToString(body),
		IsBase64Encoded: true,
	}
	ev.RequestContext.HTTP.Method = http.MethodPost
	raw, _ := json.Marshal(ev)
	res, err := httpkit.LambdaHandler(e.handler)(context.Background(), raw)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("lambda: %v %d %s", err, res.StatusCode, res.Body)
	}
	if s := e.scalar(`select status from subscriptions where id = 'sub_lambda'`); s != "active" {
		t.Fatalf("subscription status %v", s)
	}
	// The same body, not decoded, fails the signature: the adapter must decode.
	ev.IsBase64Encoded = false
	raw, _ = json.Marshal(ev)
	if res, _ := httpkit.LambdaHandler(e.handler)(context.Background(), raw); res.StatusCode != 400 {
		t.Fatalf("undecoded base64 body: %d", res.StatusCode)
	}
}

func TestConcurrentDeliveriesOfOneEvent(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	now := time.Now()
	body := envelope("evt_twice", "customer.subscription.created", v2023, now, false, activeSub("sub_twice", "cus_twice", now).object(v2023))
	const n = 6
	codes := make([]int, n)
	statuses := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out := e.deliver(body)
			codes[i], statuses[i] = code, out["status"]
		}()
	}
	wg.Wait()
	processed := 0
	for i := range n {
		if codes[i] != 200 {
			t.Fatalf("delivery %d answered %d", i, codes[i])
		}
		if statuses[i] == "processed" {
			processed++
		} else if statuses[i] != "duplicate" {
			t.Fatalf("delivery %d: status %v", i, statuses[i])
		}
	}
	if processed != 1 {
		t.Fatalf("%d deliveries applied the event, want 1", processed)
	}
	if n := e.count(`select count(*) from email_outbox where dedupe_key = 'welcome:sub_twice'`); n != 1 {
		t.Fatalf("welcome rows: %d", n)
	}
	if a := e.scalar(`select attempts from stripe_events where id = 'evt_twice'`); a != int32(1) {
		t.Fatalf("attempts %v", a)
	}
}
