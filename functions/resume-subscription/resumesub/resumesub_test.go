package resumesub_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/resume-subscription/resumesub"
	"billing/internal/stripetest/fntest"
)

func TestResumeBothPaths(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			w := fntest.StartSubscribers(t, resumesub.Spec, fntest.Options{Path: path})
			w.RememberUpdates(w.Env)
			end := fntest.DefaultPeriodEnd
			tests := []struct {
				name         string
				sub          fntest.Sub
				wantCancelAt bool // the request clears cancel_at
			}{
				{"cancel at period end", fntest.Sub{Status: "active", CancelAtPeriodEnd: true}, false},
				// A merchant's fixed cancel_at is not resumable
				// (TestResumeMerchantScheduledCancel); the user's cancel
				// carries Stripe's cancel_at at the period end, which
				// cancel_at_period_end=false clears.
				{"cancel at period end with Stripe's cancel_at", fntest.Sub{Status: "trialing", CancelAtPeriodEnd: true, CancelAt: &end}, false},
				{"past_due with a scheduled cancel", fntest.Sub{Status: "past_due", CancelAtPeriodEnd: true}, false},
			}
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					name := path + string(rune('a'+i))
					_, token := w.Subscribe(t, name, tt.sub)
					w.Proxy.Reset()
					code, body := w.Post(t, token, `{"subscriptionId":"sub_other"}`)
					if code != http.StatusOK {
						t.Fatalf("status %d: %v", code, body)
					}
					if body["cancelAtPeriodEnd"] != false || body["accessUntil"] != nil {
						t.Errorf("body = %v", body)
					}
					reqs := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")
					if len(reqs) != 1 || reqs[0].Path != "/v1/subscriptions/sub_"+name {
						t.Fatalf("Stripe updates %+v", reqs)
					}
					r := reqs[0]
					if r.Form.Get("cancel_at_period_end") != "false" {
						t.Errorf("cancel_at_period_end = %q", r.Form.Get("cancel_at_period_end"))
					}
					if r.Form.Has("cancel_at") != tt.wantCancelAt || r.Form.Get("cancel_at") != "" {
						t.Errorf("cancel_at sent = %v (%q), want %v and empty", r.Form.Has("cancel_at"), r.Form.Get("cancel_at"), tt.wantCancelAt)
					}
					if !strings.HasPrefix(r.IdempotencyKey, "resume-subscription:sub_"+name+":") {
						t.Errorf("idempotency key %q", r.IdempotencyKey)
					}
					row := fntest.ReadSubscription(t, w.DB, "sub_"+name)
					if row.CancelAtPeriodEnd || row.CancelAt != nil {
						t.Errorf("stored row still scheduled: %+v", row)
					}
				})
			}
		})
	}
}

func TestResumeNotResumable(t *testing.T) {
	w := fntest.StartSubscribers(t, resumesub.Spec, fntest.Options{})
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	tests := []struct {
		name       string
		sub        fntest.Sub
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{"nothing scheduled", fntest.Sub{Status: "active"}, 409, "not_resumable", "not scheduled"},
		{"period over", fntest.Sub{Status: "active", CancelAtPeriodEnd: true, PeriodEnd: past}, 409, "not_resumable", "period is over"},
		{"cancel_at passed", fntest.Sub{Status: "active", CancelAt: &past}, 409, "not_resumable", "period is over"},
		{"canceled", fntest.Sub{Status: "canceled", CancelAtPeriodEnd: true}, 409, "not_resumable", "ended"},
		{"no subscription", fntest.Sub{}, 404, "no_subscription", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, token := w.Subscribe(t, "nr"+string(rune('a'+i)), tt.sub)
			w.Proxy.Reset()
			code, body := w.Post(t, token, `{}`)
			if code != tt.wantStatus || body["error"] != tt.wantCode {
				t.Fatalf("got %d %v, want %d %s", code, body, tt.wantStatus, tt.wantCode)
			}
			if msg, _ := body["message"].(string); !strings.Contains(msg, tt.wantInMsg) {
				t.Errorf("message %q does not say %q", msg, tt.wantInMsg)
			}
			if n := w.Proxy.Count("", "/"); n != 0 {
				t.Errorf("%d Stripe calls", n)
			}
		})
	}
}

// TestResumeOnlyOwnSubscription: whatever the body says, a caller resumes
// only their own subscription.
func TestResumeOnlyOwnSubscription(t *testing.T) {
	w := fntest.StartSubscribers(t, resumesub.Spec, fntest.Options{})
	_, _ = w.Subscribe(t, "victim", fntest.Sub{Status: "active", CancelAtPeriodEnd: true})
	_, tokenB := w.Subscribe(t, "attacker", fntest.Sub{Status: "active", CancelAtPeriodEnd: true})
	_, tokenC := w.Subscribe(t, "nosub", fntest.Sub{})
	body := `{"subscriptionId":"sub_victim","userId":"` + w.Subscription("sub_victim").UserID + `"}`

	if code, b := w.Post(t, tokenB, body); code != 200 {
		t.Fatalf("B resumes: %d %v", code, b)
	}
	if code, b := w.Post(t, tokenC, body); code != 404 || b["error"] != "no_subscription" {
		t.Fatalf("C resumes: %d %v, want 404 no_subscription", code, b)
	}
	for _, r := range w.Proxy.Requests("", "/v1/") {
		if r.Path != "/v1/subscriptions/sub_attacker" {
			t.Errorf("Stripe call on %s", r.Path)
		}
	}
	if row := fntest.ReadSubscription(t, w.DB, "sub_victim"); !row.CancelAtPeriodEnd {
		t.Error("the victim's scheduled cancel was undone")
	}
}

func TestResumeRejects(t *testing.T) {
	w := fntest.StartSubscribers(t, resumesub.Spec, fntest.Options{})
	_, token := w.Subscribe(t, "rej", fntest.Sub{Status: "active", CancelAtPeriodEnd: true})
	tests := []struct {
		name       string
		call       fntest.Call
		wantStatus int
		wantCode   string
	}{
		{"no token", fntest.Call{Body: `{}`}, 401, "missing_token"},
		{"garbage token", fntest.Call{Token: "x.y.z", Body: `{}`}, 401, "invalid_token"},
		{"wrong method", fntest.Call{Method: "PUT", Token: token, Body: `{}`}, 405, "method_not_allowed"},
		{"wrong content type", fntest.Call{Token: token, ContentType: "text/plain", Body: `{}`}, 415, "unsupported_media_type"},
		{"body over 64 KiB", fntest.Call{Token: token, Body: `{"x":"` + strings.Repeat("x", 64<<10) + `"}`}, 413, "payload_too_large"},
		{"not an object", fntest.Call{Token: token, Body: `[1]`}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.CheckReject(t, tt.call, tt.wantStatus, tt.wantCode)
		})
	}
	if row := fntest.ReadSubscription(t, w.DB, "sub_rej"); !row.CancelAtPeriodEnd {
		t.Error("a rejected request resumed the subscription")
	}
}

// TestCancelResumeCancel runs the two functions against one database:
// every answer is applied at once, in order. Each step waits for the next
// second: an answer is stamped with a lower bound of Stripe's read, and one
// not later than the stored state is not applied (its webhook event does;
// TestResumeAnswerNotLaterThanTheStoredState).
func TestCancelResumeCancel(t *testing.T) {
	w := fntest.StartSubscribers(t, resumesub.Spec, fntest.Options{})
	c := fntest.Start(t, cancelsub.Spec, fntest.Options{DB: w.DB})
	w.MirrorTo(c)
	user, token := w.Subscribe(t, "cycle", fntest.Sub{Status: "active"})
	ctoken := c.Token(t, user, "")
	steps := []struct {
		env        *fntest.Env
		token      string
		wantCancel bool
	}{
		{c, ctoken, true}, {w.Env, token, false}, {c, ctoken, true}, {w.Env, token, false},
	}
	for i, s := range steps {
		if i > 0 {
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		}
		code, body := s.env.Post(t, s.token, `{}`)
		if code != 200 || body["cancelAtPeriodEnd"] != s.wantCancel {
			t.Fatalf("step %d: %d %v, want cancelAtPeriodEnd %v", i, code, body, s.wantCancel)
		}
		if row := fntest.ReadSubscription(t, w.DB, "sub_cycle"); row.CancelAtPeriodEnd != s.wantCancel {
			t.Fatalf("step %d: stored cancel_at_period_end %v", i, row.CancelAtPeriodEnd)
		}
	}
}

// TestResumeAnswerNotLaterThanTheStoredState: Stripe's answer is no newer
// than the stored state (a same-second event was applied first, here a
// state stamped in the future): it is not applied, the handler still
// answers 200 with the body of what is stored, and logs it at info.
func TestResumeAnswerNotLaterThanTheStoredState(t *testing.T) {
	w := fntest.StartSubscribers(t, resumesub.Spec, fntest.Options{})
	_, token := w.Subscribe(t, "tie", fntest.Sub{Status: "active", CancelAtPeriodEnd: true,
		StateAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)})
	code, body := w.Post(t, token, `{}`)
	if code != http.StatusOK || body["cancelAtPeriodEnd"] != true || body["subscribed"] != true {
		t.Fatalf("resume: %d %v, want 200 with the stored state", code, body)
	}
	if n := len(w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")); n != 1 {
		t.Fatalf("%d Stripe updates", n)
	}
	if row := fntest.ReadSubscription(t, w.DB, "sub_tie"); !row.CancelAtPeriodEnd {
		t.Fatal("an answer not later than the stored state was applied")
	}
	if logs := w.Logs(); !strings.Contains(logs, `"level":"INFO","msg":"resume: Stripe's answer not applied`) {
		t.Fatalf("not logged at info:\n%s", logs)
	}
}
