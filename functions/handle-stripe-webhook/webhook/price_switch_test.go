package webhook_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"billing/shared/httpkit"
	"billing/shared/plans"
)

// deliverLogged delivers body like deliver and returns the handler's JSON
// log lines too.
func (e *env) deliverLogged(body []byte) (int, string) {
	var logs bytes.Buffer
	req := httptest.NewRequest(http.MethodPost, "/functions/v1/handle-stripe-webhook", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", sign(body, secret, time.Now()))
	req = req.WithContext(httpkit.WithLogger(req.Context(), slog.New(slog.NewJSONHandler(&logs, nil))))
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec.Code, logs.String()
}

// errorLines returns the ERROR log lines that contain want.
func errorLines(logs, want string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"level":"ERROR"`) && strings.Contains(l, want) {
			n++
		}
	}
	return n
}

// catalogJSON parses a catalog document for test mode.
func catalogJSON(t testing.TB, doc string) *plans.Catalog {
	t.Helper()
	c, err := plans.Parse([]byte(doc), "test", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const legacyCatalog = `{"free_plan": "free", "plans": [
  {"id": "free", "limits": {"properties": 3}},
  {"id": "standard", "price_ids": {"test": "price_std_test_v2"}, "legacy_price_ids": {"test": ["price_std_test"]},
   "entitlements": ["member_access"], "limits": {"properties": 10}},
  {"id": "premium", "price_ids": {"test": "price_prem_test"}, "entitlements": ["member_access"], "limits": {"properties": null}}]}`

// A switch of a stored standard subscription to a price the catalog does
// not know, in a granting state, fails the event until the catalog knows
// the price (before: it applied silently and kept the old plan).
func TestPriceSwitchToAnUnknownPriceFails(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	s := activeSub("sub_switch", "cus_switch", T)
	e.mustDeliver(envelope("evt_switch_1", "customer.subscription.created", v2023, T, false, s.object(v2023)))

	s.Price = "price_new_tier"
	body := envelope("evt_switch_2", "customer.subscription.updated", v2023, T.Add(5*time.Second), false, s.object(v2023))
	code, logs := e.deliverLogged(body)
	if code != 500 || errorLines(logs, "price_new_tier") == 0 {
		t.Fatalf("answered %d, logs %s", code, logs)
	}
	if r := e.scalar(`select status || ':' || (error like '%price_new_tier%')::text from stripe_events where id = 'evt_switch_2'`); r != "failed:true" {
		t.Fatalf("event row %v", r)
	}
	if r := e.scalar(`select price_id || ':' || plan from subscriptions where id = 'sub_switch'`); r != priceStandard+":standard" {
		t.Fatalf("stored %v", r)
	}
	fixed := newEnvOn(t, e.db, catalogWith(t, map[string]string{"STRIPE_PREMIUM_PRICE_ID_TEST": "price_new_tier"}))
	if out := fixed.mustDeliver(body); out["status"] != "processed" {
		t.Fatalf("%v", out)
	}
	if r := e.scalar(`select price_id || ':' || plan from subscriptions where id = 'sub_switch'`); r != "price_new_tier:premium" {
		t.Fatalf("after the catalog fix: %v", r)
	}
}

// A subscription that stays on a price the catalog no longer lists keeps
// its plan, with an ERROR on every event; listed as a legacy price of its
// plan, the price is known again.
func TestGrandfatheredPrice(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	s := activeSub("sub_grand", "cus_grand", T)
	e.mustDeliver(envelope("evt_grand_1", "customer.subscription.created", v2023, T, false, s.object(v2023)))

	retired := newEnvOn(t, e.db, catalogWith(t, map[string]string{"STRIPE_STANDARD_PRICE_ID_TEST": "price_std_test_v2"}))
	for i, at := range []time.Duration{5 * time.Second, 10 * time.Second} {
		s.PeriodEnd = s.PeriodEnd.Add(at)
		code, logs := retired.deliverLogged(envelope("evt_grand_r"+string(rune('a'+i)), "customer.subscription.updated", v2023, T.Add(at), false, s.object(v2023)))
		if code != 200 || errorLines(logs, priceStandard) != 1 {
			t.Fatalf("event %d answered %d, logs %s", i, code, logs)
		}
	}
	if r := e.scalar(`select price_id || ':' || plan from subscriptions where id = 'sub_grand'`); r != priceStandard+":standard" {
		t.Fatalf("stored %v", r)
	}
	if p := e.scalar(`select active_plan from profiles where id = $1`, user1); p != "standard" {
		t.Fatalf("the grandfathered user has %v", p)
	}
	legacy := newEnvOn(t, e.db, catalogJSON(t, legacyCatalog))
	code, logs := legacy.deliverLogged(envelope("evt_grand_l", "customer.subscription.updated", v2023, T.Add(20*time.Second), false, s.object(v2023)))
	if code != 200 || strings.Contains(logs, `"level":"ERROR"`) || strings.Contains(logs, `"level":"WARN"`) {
		t.Fatalf("a legacy price is known: %d %s", code, logs)
	}
	if r := e.scalar(`select price_id || ':' || plan from subscriptions where id = 'sub_grand'`); r != priceStandard+":standard" {
		t.Fatalf("stored %v", r)
	}
}
