package cancelsub_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/check-subscription/checksub"
	"billing/internal/stripetest/fntest"
)

// TestCancelEndsAtThePeriodEnd: a cancel ends the subscription at the end
// of the current period, also when a cancel_at later than that is set (a
// schedule, an operator): otherwise the user is charged at the renewal.
// A cancel_at at or before the period end already ends it in time.
func TestCancelEndsAtThePeriodEnd(t *testing.T) {
	w := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	w.RememberUpdates(w.Env)
	end := fntest.DefaultPeriodEnd
	later, earlier := end.Add(10*24*time.Hour), end.Add(-5*24*time.Hour)
	tests := []struct {
		name       string
		cancelAt   time.Time
		wantUpdate bool
		wantUntil  time.Time
	}{
		{"cancel_at after the period end", later, true, end},
		{"cancel_at at the period end", end, false, end},
		{"cancel_at before the period end", earlier, false, earlier},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "pe" + string(rune('a'+i))
			cancelAt := tt.cancelAt
			_, token := w.Subscribe(t, name, fntest.Sub{Status: "active", CancelAt: &cancelAt})
			w.Proxy.Reset()
			code, body := w.Post(t, token, `{}`)
			if code != http.StatusOK {
				t.Fatalf("%d %v", code, body)
			}
			if body["accessUntil"] != tt.wantUntil.Format(time.RFC3339) || body["subscribed"] != true {
				t.Errorf("body %v, want access until %s", body, tt.wantUntil.Format(time.RFC3339))
			}
			reqs := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")
			if !tt.wantUpdate {
				if len(reqs) != 0 {
					t.Errorf("%d Stripe updates for a cancel already scheduled in time", len(reqs))
				}
				return
			}
			if len(reqs) != 1 || reqs[0].Form.Get("cancel_at_period_end") != "true" {
				t.Fatalf("Stripe updates %+v, want one with cancel_at_period_end=true", reqs)
			}
			// The merchant's date is kept for a resume to restore
			// (TestResumeRestoresTheMerchantsEnd).
			if got := reqs[0].Form.Get("metadata[" + cancelsub.MetadataMerchantCancelAt + "]"); got != strconv.FormatInt(tt.cancelAt.Unix(), 10) {
				t.Errorf("metadata %s = %q, want %d", cancelsub.MetadataMerchantCancelAt, got, tt.cancelAt.Unix())
			}
			row := fntest.ReadSubscription(t, w.DB, "sub_"+name)
			if !row.CancelAtPeriodEnd || row.CancelAt == nil || !row.CancelAt.Equal(end) {
				t.Errorf("stored row %+v, want cancelling at %s", row, end)
			}
		})
	}
}

// TestCancelReadsItsOwnWrite: the subscription's last event is from this
// very second (or the next: Stripe's clock may be ahead), so Stripe's
// answer, stamped with a lower bound of its read, is not later than the
// stored state. The cancel waits the bounded time the webhook waits, reads
// the subscription again and applies it: the 200 body and the next
// check-subscription show the cancel.
func TestCancelReadsItsOwnWrite(t *testing.T) {
	for _, ahead := range []time.Duration{0, time.Second} {
		t.Run("last event "+ahead.String()+" ahead", func(t *testing.T) {
			w := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
			w.RememberUpdates(w.Env)
			check := fntest.Start(t, checksub.Spec, fntest.Options{DB: w.DB})
			user, token := w.Subscribe(t, "own", fntest.Sub{Status: "active",
				StateAt: time.Now().Add(ahead).UTC().Truncate(time.Second)})
			began := time.Now()
			code, body := w.Post(t, token, `{}`)
			took := time.Since(began)
			t.Logf("cancel answered in %v", took)
			if code != http.StatusOK || body["cancelAtPeriodEnd"] != true {
				t.Fatalf("%d %v, want 200 with cancelAtPeriodEnd", code, body)
			}
			if took > 4*time.Second {
				t.Errorf("cancel took %v, want at most about 3 s of waiting", took)
			}
			if row := fntest.ReadSubscription(t, w.DB, "sub_own"); !row.CancelAtPeriodEnd {
				t.Error("the cancel is not stored")
			}
			if n := w.Proxy.Count(http.MethodGet, "/v1/subscriptions/sub_own"); n != 1 {
				t.Errorf("%d reads of the subscription, want 1", n)
			}
			if code, cs := check.Post(t, check.Token(t, user, ""), ""); code != 200 || cs["cancelAtPeriodEnd"] != true {
				t.Errorf("check-subscription after cancel: %d %v", code, cs)
			}
		})
	}
}
