package cancelsub_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/check-subscription/checksub"
	"billing/internal/stripetest/fntest"
	"billing/shared/store"
)

func TestCancelBothPaths(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			w := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{Path: path})
			check := fntest.Start(t, checksub.Spec, fntest.Options{Path: path, DB: w.DB})
			end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
			user, token := w.Subscribe(t, "a"+path, fntest.Sub{Status: "active", PeriodEnd: end})
			sub := "sub_a" + path

			code, body := w.Post(t, token, `{"reason":"too_expensive","comment":"  Too pricey for me.  ","subscriptionId":"sub_other"}`)
			if code != http.StatusOK {
				t.Fatalf("status %d: %v", code, body)
			}
			wantEnd := end.Format(time.RFC3339)
			if body["cancelAtPeriodEnd"] != true || body["accessUntil"] != wantEnd || body["subscribed"] != true || body["plan"] != "standard" {
				t.Errorf("body = %v", body)
			}
			reqs := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")
			if len(reqs) != 1 || reqs[0].Path != "/v1/subscriptions/"+sub {
				t.Fatalf("Stripe updates: %+v", reqs)
			}
			r := reqs[0]
			for k, v := range map[string]string{
				"cancel_at_period_end":           "true",
				"cancellation_details[feedback]": "too_expensive",
				"cancellation_details[comment]":  "Too pricey for me.",
			} {
				if got := r.Form.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.HasPrefix(r.IdempotencyKey, "cancel-subscription:"+sub+":") {
				t.Errorf("idempotency key %q", r.IdempotencyKey)
			}
			row := fntest.ReadSubscription(t, w.DB, sub)
			if !row.CancelAtPeriodEnd || row.CancellationFeedback == nil || *row.CancellationFeedback != "too_expensive" ||
				row.CancellationComment == nil || *row.CancellationComment != "Too pricey for me." {
				t.Errorf("stored row %+v", row)
			}

			// check-subscription right after shows the scheduled cancel.
			code, cs := check.Post(t, check.Token(t, user, ""), "")
			if code != 200 || cs["cancelAtPeriodEnd"] != true || cs["accessUntil"] != wantEnd || cs["subscribed"] != true {
				t.Errorf("check-subscription after cancel: %d %v", code, cs)
			}

			// Twice is not an error, and Stripe is not asked again.
			w.Proxy.Reset()
			code, again := w.Post(t, token, `{}`)
			if code != http.StatusOK || again["cancelAtPeriodEnd"] != true || again["accessUntil"] != wantEnd {
				t.Errorf("second cancel: %d %v", code, again)
			}
			if n := w.Proxy.Count("", "/"); n != 0 {
				t.Errorf("second cancel made %d Stripe calls", n)
			}
		})
	}
}

func TestCancelWithoutDetails(t *testing.T) {
	w := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	_, token := w.Subscribe(t, "plain", fntest.Sub{Status: "trialing"})
	if code, body := w.Do(t, fntest.Call{Token: token}); code != 200 || body["cancelAtPeriodEnd"] != true {
		t.Fatalf("cancel with an empty body: %d %v", code, body)
	}
	r := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")[0]
	for k := range r.Form {
		if strings.HasPrefix(k, "cancellation_details") {
			t.Errorf("sent %s without a reason or comment", k)
		}
	}
}

// TestCancelOnlyOwnSubscription: whatever the body says, a caller cancels
// only their own subscription, and one without a subscription gets 404.
func TestCancelOnlyOwnSubscription(t *testing.T) {
	w := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	_, _ = w.Subscribe(t, "victim", fntest.Sub{Status: "active"})
	_, tokenB := w.Subscribe(t, "attacker", fntest.Sub{Status: "active"})
	_, tokenC := w.Subscribe(t, "none", fntest.Sub{})
	_, tokenD := w.Subscribe(t, "ended", fntest.Sub{Status: "canceled"})
	// The victim's subscription without a user (its event came before the
	// checkout's) is still never anyone else's.
	w.DB.MustExec(t, `update public.subscriptions set user_id = null where id = 'sub_victim'`)

	body := `{"subscriptionId":"sub_victim","subscription_id":"sub_victim","customerId":"cus_victim"}`
	t.Run("a subscriber cancels their own", func(t *testing.T) {
		w.Proxy.Reset()
		if code, b := w.Post(t, tokenB, body); code != 200 {
			t.Fatalf("%d %v", code, b)
		}
		reqs := w.Proxy.Requests("", "/v1/subscriptions/")
		if len(reqs) != 1 || reqs[0].Path != "/v1/subscriptions/sub_attacker" {
			t.Fatalf("Stripe calls %+v", reqs)
		}
	})
	for name, token := range map[string]string{"no subscription": tokenC, "only a canceled one": tokenD} {
		t.Run(name, func(t *testing.T) {
			w.Proxy.Reset()
			code, b := w.Post(t, token, body)
			if code != http.StatusNotFound || b["error"] != "no_subscription" {
				t.Fatalf("%d %v, want 404 no_subscription", code, b)
			}
			if n := w.Proxy.Count("", "/"); n != 0 {
				t.Errorf("%d Stripe calls", n)
			}
		})
	}
	if row := fntest.ReadSubscription(t, w.DB, "sub_victim"); row.CancelAtPeriodEnd {
		t.Error("the victim's subscription was cancelled")
	}
}

func TestCancelRejects(t *testing.T) {
	w := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	_, token := w.Subscribe(t, "rej", fntest.Sub{Status: "active"})
	tests := []struct {
		name       string
		call       fntest.Call
		wantStatus int
		wantCode   string
	}{
		{"no token", fntest.Call{Body: `{}`}, 401, "missing_token"},
		{"wrong method", fntest.Call{Method: "GET", Token: token}, 405, "method_not_allowed"},
		{"wrong content type", fntest.Call{Token: token, ContentType: "text/plain", Body: `{}`}, 415, "unsupported_media_type"},
		{"body over 64 KiB", fntest.Call{Token: token, Body: `{"comment":"` + strings.Repeat("x", 64<<10) + `"}`}, 413, "payload_too_large"},
		{"unknown reason", fntest.Call{Token: token, Body: `{"reason":"bored"}`}, 400, "invalid_request"},
		{"reason not a string", fntest.Call{Token: token, Body: `{"reason":3}`}, 400, "invalid_request"},
		{"comment too long", fntest.Call{Token: token, Body: `{"comment":"` + strings.Repeat("é", cancelsub.MaxCommentLength+1) + `"}`}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.CheckReject(t, tt.call, tt.wantStatus, tt.wantCode)
		})
	}
	t.Run("a comment of exactly the limit is fine", func(t *testing.T) {
		code, body := w.Post(t, token, `{"reason":"other","comment":"`+strings.Repeat("é", cancelsub.MaxCommentLength)+`"}`)
		if code != 200 {
			t.Fatalf("%d %v", code, body)
		}
	})
	if row := fntest.ReadSubscription(t, w.DB, "sub_rej"); !row.CancelAtPeriodEnd {
		t.Error("the last call did not cancel")
	}
}

func TestCancelStripeError(t *testing.T) {
	w := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	_, token := w.Subscribe(t, "fail", fntest.Sub{Status: "active"})
	w.Proxy.Fail(http.MethodPost, "/v1/subscriptions/", 400,
		map[string]any{"type": "invalid_request_error", "param": "cancellation_details[feedback]", "message": "Invalid"})
	code, body := w.Post(t, token, `{"reason":"other"}`)
	if code != http.StatusBadGateway || body["error"] != "stripe_error" {
		t.Fatalf("%d %v, want 502 stripe_error", code, body)
	}
	if msg, _ := body["message"].(string); strings.Contains(msg, "req_") {
		t.Errorf("message carries Stripe's request ID: %q", msg)
	}
	if !strings.Contains(w.Logs(), "req_stripetest_") {
		t.Error("Stripe's request ID was not logged")
	}
	if row := fntest.ReadSubscription(t, w.DB, "sub_fail"); row.CancelAtPeriodEnd {
		t.Error("the database says cancelled although Stripe refused")
	}
}

func TestCurrent(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	row := func(id, status string, end time.Duration, cancel bool) store.SubscriptionRow {
		return store.SubscriptionRow{ID: id, Status: status, CurrentPeriodEnd: at(end), CancelAtPeriodEnd: cancel}
	}
	tests := []struct {
		name   string
		rows   []store.SubscriptionRow
		wantID string
	}{
		{"none", nil, ""},
		{"only canceled and incomplete", []store.SubscriptionRow{row("a", "canceled", time.Hour, false), row("b", "incomplete", time.Hour, false)}, ""},
		{"active", []store.SubscriptionRow{row("a", "active", time.Hour, false)}, "a"},
		{"past_due counts", []store.SubscriptionRow{row("a", "past_due", time.Hour, false)}, "a"},
		{"newest live wins", []store.SubscriptionRow{row("new", "trialing", time.Hour, false), row("old", "active", time.Hour, false)}, "new"},
		{"a running one beats one whose scheduled end passed",
			[]store.SubscriptionRow{row("ended", "active", -time.Minute, true), row("running", "active", time.Hour, false)}, "running"},
		{"only one whose scheduled end passed", []store.SubscriptionRow{row("ended", "active", -time.Minute, true)}, "ended"},
		{"cancel_at passed", []store.SubscriptionRow{{ID: "x", Status: "active", CurrentPeriodEnd: at(time.Hour), CancelAt: at(-time.Second)},
			row("y", "active", time.Hour, false)}, "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cancelsub.Current(tt.rows, now)
			if ok != (tt.wantID != "") || got.ID != tt.wantID {
				t.Errorf("Current = %q, %v; want %q", got.ID, ok, tt.wantID)
			}
		})
	}
}

// TestCancelAnswerNotLaterThanTheStoredState: Stripe's answer is no newer
// than the stored state (a same-second event was applied first, here a
// state stamped in the future): it is not applied, the handler still
// answers 200 with the body of what is stored, and logs it at info.
func TestCancelAnswerNotLaterThanTheStoredState(t *testing.T) {
	w := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	_, token := w.Subscribe(t, "tie", fntest.Sub{Status: "active",
		StateAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)})
	code, body := w.Post(t, token, `{}`)
	if code != http.StatusOK || body["cancelAtPeriodEnd"] != false || body["subscribed"] != true {
		t.Fatalf("cancel: %d %v, want 200 with the stored state", code, body)
	}
	if n := len(w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")); n != 1 {
		t.Fatalf("%d Stripe updates", n)
	}
	if row := fntest.ReadSubscription(t, w.DB, "sub_tie"); row.CancelAtPeriodEnd {
		t.Fatal("an answer not later than the stored state was applied")
	}
	if logs := w.Logs(); !strings.Contains(logs, `"level":"INFO","msg":"cancel: Stripe's answer not applied`) {
		t.Fatalf("not logged at info:\n%s", logs)
	}
}
