package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/ops"
	"billing/internal/stripetest/fntest"
	"billing/internal/testdb"
	"billing/shared/plans"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

const secret = "whsec_ops_test_0123456789abcdef"

// startWebhook runs the real handle-stripe-webhook function.
func startWebhook(t *testing.T, db *testdb.DB) *fntest.Env {
	t.Helper()
	return fntest.Start(t, webhook.Spec, fntest.Options{DB: db, Env: map[string]string{"STRIPE_WEBHOOK_SECRET": secret}})
}

// deliver sends an event built by ops.BuildEvent to the webhook, signed
// like Stripe signs it, and returns the answer.
func deliver(t *testing.T, e *fntest.Env, o ops.EventOptions) (int, map[string]any, string) {
	t.Helper()
	payload, err := ops.BuildEvent(o)
	if err != nil {
		t.Fatal(err)
	}
	code, body, err := ops.SendEvent(context.Background(), nil, e.URL, payload, secret)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("webhook answered %d %q", code, body)
	}
	var ev struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(payload, &ev)
	return code, out, ev.ID
}

func planOf(t *testing.T, e *fntest.Env, userID string) string {
	t.Helper()
	cat, err := plans.Load("", "test", func(k string) string { return fntest.DefaultEnv()[k] })
	if err != nil {
		t.Fatal(err)
	}
	res, err := checksub.Compute(context.Background(), e.Deps.Store, cat, userID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return res.Plan
}

// Every event trigger can make is accepted by the real webhook and acts on
// the user: a subscription's life from created to deleted.
func TestTriggerEventsAcceptedByTheWebhook(t *testing.T) {
	e := startWebhook(t, nil)
	user := e.DB.CreateUser(t, "trigger@example.com")
	base := ops.EventOptions{UserID: user, CustomerID: ops.DefaultCustomerID(user),
		SubscriptionID: ops.DefaultSubscriptionID(user), PriceID: fntest.StandardPrice}
	steps := []struct {
		typ      string
		cancel   bool
		wantPlan string
	}{
		{"customer.subscription.created", false, "standard"},
		{"checkout.session.completed", false, "standard"},
		{"invoice.paid", false, "standard"},
		{"customer.subscription.updated", true, "standard"},
		{"invoice.payment_failed", false, "standard"},
		{"customer.subscription.deleted", false, "free"},
	}
	if len(steps) != len(ops.TriggerTypes()) {
		t.Fatalf("the test covers %d types, trigger has %v", len(steps), ops.TriggerTypes())
	}
	for i, s := range steps {
		t.Run(s.typ, func(t *testing.T) {
			o := base
			o.Type, o.CancelAtPeriodEnd = s.typ, s.cancel
			o.Now = time.Now().Add(time.Duration(i) * time.Second) // one state per second
			code, body, _ := deliver(t, e, o)
			if code != 200 || body["status"] != "processed" {
				t.Fatalf("webhook answered %d %v", code, body)
			}
			if got := planOf(t, e, user); got != s.wantPlan {
				t.Fatalf("plan after %s = %s, want %s", s.typ, got, s.wantPlan)
			}
		})
	}
	st := fntest.ReadSubscription(t, e.DB, base.SubscriptionID)
	if st.Status != "canceled" || st.UserID == nil || *st.UserID != user {
		t.Fatalf("subscription = %+v", st)
	}
	if fntest.CustomerOf(t, e.DB, user) != base.CustomerID {
		t.Fatal("the customer was not linked")
	}
	if n := len(e.Proxy.Requests("", "/v1/")); n != 0 {
		t.Errorf("the webhook had to ask Stripe %d times: the events are not self-sufficient", n)
	}
}

func TestBuildEventShape(t *testing.T) {
	now := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	o := ops.EventOptions{Type: "customer.subscription.created", UserID: "00000000-0000-4000-8000-000000000001",
		CustomerID: "cus_A", SubscriptionID: "sub_A", PriceID: "price_X", Now: now}
	a, err := ops.BuildEvent(o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ops.BuildEvent(o)
	ev, err := stripesync.ParseEvent(a)
	if err != nil {
		t.Fatal(err)
	}
	ev2, _ := stripesync.ParseEvent(b)
	if ev.ID == ev2.ID || !strings.HasPrefix(ev.ID, "evt_") || !ev.Created.Equal(now) || ev.Livemode {
		t.Fatalf("envelope %+v / %+v", ev, ev2)
	}
	sub, err := stripesync.ParseSubscription(ev.Object)
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID != "sub_A" || sub.CustomerID != "cus_A" || sub.PriceID != "price_X" || sub.Status != "active" ||
		sub.UserID != o.UserID || !sub.CurrentPeriodEnd.Equal(now.AddDate(0, 1, 0)) || sub.CancelAtPeriodEnd {
		t.Fatalf("subscription %+v", sub)
	}
	for _, bad := range []ops.EventOptions{
		{Type: "../secrets", CustomerID: "cus_A", SubscriptionID: "sub_A"},
		{Type: "charge.refunded", CustomerID: "cus_A", SubscriptionID: "sub_A"},
		{Type: "customer.subscription.created", CustomerID: "cus_A", SubscriptionID: "sub_A"}, // no price
	} {
		if _, err := ops.BuildEvent(bad); err == nil {
			t.Errorf("BuildEvent(%+v) succeeded", bad)
		}
	}
	// The signature verifies with stripe-go as the webhook checks it.
	header := ops.SignatureHeader(a, secret, time.Now())
	if err := (webhook.Verifier{Secrets: []string{secret}}).Verify(a, header); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := (webhook.Verifier{Secrets: []string{"whsec_other"}}).Verify(a, header); err == nil {
		t.Fatal("a wrong secret verified")
	}
}

// Replay (done-when): an event that failed (its price was not in the
// catalog yet) is applied once when replayed after the fix; replaying an
// applied event changes nothing.
func TestReplayFailedEventOnce(t *testing.T) {
	e := startWebhook(t, nil)
	user := e.DB.CreateUser(t, "replay@example.com")
	fntest.LinkCustomer(t, e.DB, user, "cus_replay")
	o := ops.EventOptions{Type: "customer.subscription.created", UserID: user, CustomerID: "cus_replay",
		SubscriptionID: "sub_replay", PriceID: "price_new_growth"}
	code, body, evID := deliver(t, e, o)
	if code != 500 || body["error"] != "unknown_price" {
		t.Fatalf("delivery answered %d %v, want 500 unknown_price", code, body)
	}
	var status, errText string
	if err := e.DB.Pool.QueryRow(context.Background(), `select status, error from public.stripe_events where id = $1`, evID).
		Scan(&status, &errText); err != nil || status != "failed" || !strings.Contains(errText, "price_new_growth") {
		t.Fatalf("stored event: %s %q %v", status, errText, err)
	}

	// The operator adds the price to the catalog (here: as the premium
	// plan's price) and replays what failed.
	fixed, err := plans.Load("", "test", func(k string) string {
		if k == "STRIPE_PREMIUM_PRICE_ID_TEST" {
			return "price_new_growth"
		}
		return fntest.DefaultEnv()[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	proc := webhook.NewProcessor(webhook.Options{Mode: "test",
		Syncer:  &stripesync.Syncer{Store: e.Deps.Store, Catalog: fixed},
		Fetcher: webhook.StripeFetcher{API: stripeclient.New(fntest.DefaultEnv()["STRIPE_SECRET_KEY"], e.Proxy.URL, nil, nil)}})
	ctx := context.Background()
	var progress []string
	rep, err := ops.Replay(ctx, e.Deps.Store, proc, ops.Selection{Failed: true}, func(_ int, ev ops.ReplayedEvent) {
		progress = append(progress, ev.ID+":"+ev.Result)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Selected != 1 || rep.Counts["processed"] != 1 || len(progress) != 1 || progress[0] != evID+":processed" {
		t.Fatalf("replay = %+v, progress %v", rep, progress)
	}
	var plan string
	if err := e.DB.Pool.QueryRow(ctx, `select plan from public.subscriptions where id = 'sub_replay'`).Scan(&plan); err != nil || plan != "premium" {
		t.Fatalf("subscription plan %q, %v", plan, err)
	}
	if err := e.DB.Pool.QueryRow(ctx, `select status from public.stripe_events where id = $1`, evID).Scan(&status); err != nil || status != "processed" {
		t.Fatalf("event status %q %v", status, err)
	}
	before := digest(t, e.DB)

	tests := []struct {
		name string
		sel  ops.Selection
		want map[string]int
		ok   bool
	}{
		{"by ID", ops.Selection{IDs: []string{evID}}, map[string]int{"duplicate": 1}, true},
		{"by type and range", ops.Selection{Types: []string{"customer.subscription.created"},
			Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)}, map[string]int{"duplicate": 1}, true},
		{"a range without it", ops.Selection{Since: time.Now().Add(time.Hour)}, map[string]int{}, true},
		{"failed: none left", ops.Selection{Failed: true}, map[string]int{}, true},
		{"unknown ID", ops.Selection{IDs: []string{"evt_never_received"}}, map[string]int{"not_found": 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := ops.Replay(ctx, e.Deps.Store, proc, tt.sel, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() != tt.ok || len(rep.Counts) != len(tt.want) {
				t.Fatalf("report %+v", rep)
			}
			for k, v := range tt.want {
				if rep.Counts[k] != v {
					t.Fatalf("counts %v, want %v", rep.Counts, tt.want)
				}
			}
		})
	}
	if after := digest(t, e.DB); after != before {
		t.Fatalf("replaying an applied event changed the database:\n%s\n%s", before, after)
	}
	if _, err := ops.Replay(ctx, e.Deps.Store, proc, ops.Selection{}, nil); err == nil {
		t.Fatal("an empty selection replayed everything")
	}
}

// digest summarizes what an event's application writes.
func digest(t *testing.T, db *testdb.DB) string {
	t.Helper()
	var out string
	err := db.Pool.QueryRow(context.Background(), `select concat_ws('|',
		(select md5(coalesce(string_agg(row_to_json(s)::text, ',' order by s.id), '')) from public.subscriptions s),
		(select md5(coalesce(string_agg(row_to_json(p)::text, ',' order by p.id), '')) from public.profiles p),
		(select md5(coalesce(string_agg(row_to_json(e)::text, ',' order by e.id), '')) from public.stripe_events e),
		(select md5(coalesce(string_agg(row_to_json(o)::text, ',' order by o.id), '')) from public.email_outbox o))`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// status shows the access body and the history behind it, without any
// email address.
func TestStatus(t *testing.T) {
	e := startWebhook(t, nil)
	user := e.DB.CreateUser(t, "status@example.com")
	o := ops.EventOptions{Type: "customer.subscription.created", UserID: user, CustomerID: "cus_status",
		SubscriptionID: "sub_status", PriceID: fntest.PremiumPrice}
	if code, body, _ := deliver(t, e, o); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	cat, err := plans.Load("", "test", func(k string) string { return fntest.DefaultEnv()[k] })
	if err != nil {
		t.Fatal(err)
	}
	st, err := ops.Status(context.Background(), e.Deps.Store, cat, user, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Access.Plan != "premium" || !st.History.Exists || len(st.History.Subscriptions) != 1 ||
		len(st.History.Events) != 1 || len(st.History.Emails) != 1 || st.History.Emails[0].Kind != "welcome" {
		t.Fatalf("status %+v", st)
	}
	var buf bytes.Buffer
	if err := st.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{user, "cus_status", "sub_status", "customer.subscription.created", `"plan": "premium"`, "welcome"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "status@example.com") {
		t.Error("status printed the user's email address")
	}
	other, err := ops.Status(context.Background(), e.Deps.Store, cat, "00000000-0000-4000-8000-00000000dead", time.Now())
	if err != nil || other.History.Exists || other.Access.Plan != "free" {
		t.Fatalf("unknown user: %+v %v", other, err)
	}
}
