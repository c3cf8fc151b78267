package resumesub_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/check-subscription/checksub"
	"billing/functions/resume-subscription/resumesub"
	"billing/internal/stripetest/fntest"
)

// TestResumeMerchantScheduledCancel: a cancellation the merchant scheduled
// (a fixed cancel_at from the Dashboard or support, without
// cancel_at_period_end) is not the user's to undo: 409 not_resumable, a
// message that says to contact support, and no Stripe call. The user's own
// cancel (cancel-subscription, or the portal's "at the end of the period":
// cancel_at_period_end, with Stripe's cancel_at at the period end) stays
// resumable.
func TestResumeMerchantScheduledCancel(t *testing.T) {
	w := fntest.StartSubscribers(t, resumesub.Spec, fntest.Options{})
	w.RememberUpdates(w.Env)
	end := fntest.DefaultPeriodEnd
	later, earlier := end.Add(10*24*time.Hour), end.Add(-5*24*time.Hour)
	tests := []struct {
		name      string
		sub       fntest.Sub
		resumable bool
	}{
		{"merchant cancel_at after the period end", fntest.Sub{Status: "active", CancelAt: &later}, false},
		{"merchant cancel_at within the period", fntest.Sub{Status: "trialing", CancelAt: &earlier}, false},
		{"merchant cancel_at at the period end", fntest.Sub{Status: "active", CancelAt: &end}, false},
		{"the user's cancel through the portal", fntest.Sub{Status: "active", CancelAtPeriodEnd: true, CancelAt: &end}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "mc" + string(rune('a'+i))
			_, token := w.Subscribe(t, name, tt.sub)
			w.Proxy.Reset()
			code, body := w.Post(t, token, `{}`)
			if tt.resumable {
				if code != http.StatusOK || body["cancelAtPeriodEnd"] != false || body["accessUntil"] != nil {
					t.Fatalf("%d %v, want 200 renewing again", code, body)
				}
				r := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")
				if len(r) != 1 || r[0].Form.Get("cancel_at_period_end") != "false" {
					t.Fatalf("Stripe updates %+v", r)
				}
				return
			}
			if code != http.StatusConflict || body["error"] != "not_resumable" {
				t.Fatalf("%d %v, want 409 not_resumable", code, body)
			}
			if msg, _ := body["message"].(string); !strings.Contains(msg, "support") {
				t.Errorf("message %q does not say to contact support", msg)
			}
			if n := w.Proxy.Count("", "/"); n != 0 {
				t.Errorf("%d Stripe calls", n)
			}
			if row := fntest.ReadSubscription(t, w.DB, "sub_"+name); row.CancelAt == nil {
				t.Error("the merchant's cancel_at was cleared")
			}
		})
	}
}

// TestResumeRightAfterCancel: cancel, then resume at once, then cancel and
// resume again, all within a second or two of each other and of the
// subscription's last event. Every answer is read back when it lost the
// same-second race, so each 200 body and check-subscription after it show
// the change, and the resume never answers not_resumable.
func TestResumeRightAfterCancel(t *testing.T) {
	w := fntest.StartSubscribers(t, resumesub.Spec, fntest.Options{})
	c := fntest.Start(t, cancelsub.Spec, fntest.Options{DB: w.DB})
	check := fntest.Start(t, checksub.Spec, fntest.Options{DB: w.DB})
	w.MirrorTo(c)
	w.RememberUpdates(w.Env)
	w.RememberUpdates(c)
	user, token := w.Subscribe(t, "quick", fntest.Sub{Status: "active", StateAt: time.Now().UTC().Truncate(time.Second)})
	ctoken, chk := c.Token(t, user, ""), check.Token(t, user, "")
	steps := []struct {
		env        *fntest.Env
		token      string
		wantCancel bool
	}{
		{c, ctoken, true}, {w.Env, token, false}, {c, ctoken, true}, {w.Env, token, false},
	}
	began := time.Now()
	for i, s := range steps {
		code, body := s.env.Post(t, s.token, `{}`)
		if code != 200 || body["cancelAtPeriodEnd"] != s.wantCancel {
			t.Fatalf("step %d: %d %v, want 200 with cancelAtPeriodEnd %v", i, code, body, s.wantCancel)
		}
		if code, cs := check.Post(t, chk, ""); code != 200 || cs["cancelAtPeriodEnd"] != s.wantCancel {
			t.Fatalf("step %d: check-subscription %d %v", i, code, cs)
		}
	}
	t.Logf("4 changes in %v", time.Since(began))
}

// TestResumeRestoresTheMerchantsEnd: the merchant set a cancel_at after
// the period end; the user's cancel ended the subscription at the period
// end instead (TestCancelEndsAtThePeriodEnd), and a resume undoes only
// that: the subscription ends on the merchant's date again, and that end
// is not resumable.
func TestResumeRestoresTheMerchantsEnd(t *testing.T) {
	w := fntest.StartSubscribers(t, resumesub.Spec, fntest.Options{})
	c := fntest.Start(t, cancelsub.Spec, fntest.Options{DB: w.DB})
	w.MirrorTo(c)
	w.RememberUpdates(w.Env)
	w.RememberUpdates(c)
	end := fntest.DefaultPeriodEnd
	merchant := end.Add(10 * 24 * time.Hour)
	user, token := w.Subscribe(t, "contract", fntest.Sub{Status: "active", CancelAt: &merchant})

	code, body := c.Post(t, c.Token(t, user, ""), `{}`)
	if code != 200 || body["cancelAtPeriodEnd"] != true || body["accessUntil"] != end.Format(time.RFC3339) {
		t.Fatalf("cancel: %d %v", code, body)
	}
	w.Proxy.Reset()
	code, body = w.Post(t, token, `{}`)
	if code != 200 || body["cancelAtPeriodEnd"] != false || body["accessUntil"] != merchant.Format(time.RFC3339) {
		t.Fatalf("resume: %d %v, want the merchant's end %s back", code, body, merchant.Format(time.RFC3339))
	}
	reqs := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")
	if len(reqs) != 2 || reqs[1].Form.Get("cancel_at") != strconv.FormatInt(merchant.Unix(), 10) ||
		!reqs[1].Form.Has("metadata[billing_merchant_cancel_at]") || reqs[1].Form.Get("metadata[billing_merchant_cancel_at]") != "" {
		t.Fatalf("Stripe updates %+v, want the resume then the merchant's cancel_at with the marker unset", reqs)
	}
	if row := fntest.ReadSubscription(t, w.DB, "sub_contract"); row.CancelAtPeriodEnd || row.CancelAt == nil || !row.CancelAt.Equal(merchant) {
		t.Errorf("stored row %+v, want cancel_at %s", row, merchant)
	}
	if code, body := w.Post(t, token, `{}`); code != http.StatusConflict || body["error"] != "not_resumable" {
		t.Errorf("second resume: %d %v, want 409 not_resumable", code, body)
	}
}
