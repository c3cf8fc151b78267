package changeplan_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"billing/functions/change-plan/changeplan"
	"billing/internal/stripetest/fntest"
	"billing/shared/httpkit"
)

// TestChangeRefusals: every refusal answers its code before any Stripe
// call, and leaves the subscription as it was.
func TestChangeRefusals(t *testing.T) {
	w := start(t, fntest.Options{})
	_, active := w.Subscribe(t, "ok", fntest.Sub{Status: "active"})
	_, none := w.Subscribe(t, "none", fntest.Sub{})
	_, canceled := w.Subscribe(t, "gone", fntest.Sub{Status: "canceled"})
	_, ending := w.Subscribe(t, "ending", fntest.Sub{Status: "active", CancelAtPeriodEnd: true})
	cancelAt := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	_, cancelAtSet := w.Subscribe(t, "cancelat", fntest.Sub{Status: "active", CancelAt: &cancelAt})
	_, incomplete := w.Subscribe(t, "incomplete", fntest.Sub{Status: "incomplete"})
	_, unpaid := w.Subscribe(t, "unpaid", fntest.Sub{Status: "unpaid"})
	_, paused := w.Subscribe(t, "paused", fntest.Sub{Status: "paused"})
	_, pastDue := w.Subscribe(t, "pastdue", fntest.Sub{Status: "past_due"})
	old := time.Now().Add(-changeplan.MaxPreviewAge - time.Minute).Unix()
	future := time.Now().Add(time.Hour).Unix()

	tests := []struct {
		name       string
		call       fntest.Call
		wantStatus int
		wantCode   string
	}{
		{"no token", fntest.Call{Body: `{"plan":"premium"}`}, 401, httpkit.CodeMissingToken},
		{"GET", fntest.Call{Method: "GET", Token: active}, 405, httpkit.CodeMethodNotAllowed},
		{"no plan", fntest.Call{Token: active, Body: `{}`}, 400, httpkit.CodeInvalidRequest},
		{"plan not a string", fntest.Call{Token: active, Body: `{"plan":1}`}, 400, httpkit.CodeInvalidRequest},
		{"prorationDate not a number", fntest.Call{Token: active, Body: `{"plan":"premium","prorationDate":"now"}`}, 400, httpkit.CodeInvalidRequest},
		{"plan not in the catalog", fntest.Call{Token: active, Body: `{"plan":"gold"}`}, 400, changeplan.CodeUnknownPlan},
		{"the free plan", fntest.Call{Token: active, Body: `{"plan":"free"}`}, 400, changeplan.CodeFreePlan},
		{"same plan", fntest.Call{Token: active, Body: `{"plan":"standard"}`}, 409, changeplan.CodeSamePlan},
		{"same plan preview", fntest.Call{Token: active, Body: `{"plan":"Standard","preview":true}`}, 409, changeplan.CodeSamePlan},
		{"no subscription", fntest.Call{Token: none, Body: `{"plan":"premium"}`}, 404, httpkit.CodeNoSubscription},
		{"canceled", fntest.Call{Token: canceled, Body: `{"plan":"premium"}`}, 409, changeplan.CodeSubscriptionCanceled},
		{"ending at period end", fntest.Call{Token: ending, Body: `{"plan":"premium"}`}, 409, changeplan.CodeSubscriptionEnding},
		{"ending at cancel_at", fntest.Call{Token: cancelAtSet, Body: `{"plan":"premium","preview":true}`}, 409, changeplan.CodeSubscriptionEnding},
		{"incomplete", fntest.Call{Token: incomplete, Body: `{"plan":"premium"}`}, 409, changeplan.CodeSubscriptionIncomplete},
		{"unpaid", fntest.Call{Token: unpaid, Body: `{"plan":"premium"}`}, 409, changeplan.CodeSubscriptionUnpaid},
		{"paused", fntest.Call{Token: paused, Body: `{"plan":"premium"}`}, 409, changeplan.CodeSubscriptionPaused},
		{"past_due", fntest.Call{Token: pastDue, Body: `{"plan":"premium"}`}, 409, changeplan.CodeSubscriptionPastDue},
		{"a preview too old", fntest.Call{Token: active, Body: fmt.Sprintf(`{"plan":"premium","prorationDate":%d}`, old)}, 409, changeplan.CodePreviewExpired},
		{"a proration date in the future", fntest.Call{Token: active, Body: fmt.Sprintf(`{"plan":"premium","prorationDate":%d}`, future)}, 400, httpkit.CodeInvalidRequest},
		{"body over 64 KiB", fntest.Call{Token: active, Body: `{"plan":"` + strings.Repeat("x", 64<<10) + `"}`}, 413, httpkit.CodePayloadTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.CheckReject(t, tt.call, tt.wantStatus, tt.wantCode)
		})
	}
	for _, id := range []string{"sub_ok", "sub_ending", "sub_pastdue"} {
		if row := fntest.ReadSubscription(t, w.DB, id); row.Status == "" {
			t.Errorf("%s: %+v", id, row)
		}
	}
	if n := w.Proxy.Count(http.MethodPost, "/"); n != 0 {
		t.Errorf("refusals made %d Stripe updates", n)
	}
}

// TestChangeOnlyOwnSubscription: a subscription ID in the body is ignored;
// the caller's own subscription changes.
func TestChangeOnlyOwnSubscription(t *testing.T) {
	w := start(t, fntest.Options{})
	_, _ = w.Subscribe(t, "victim", fntest.Sub{Status: "active"})
	_, token := w.Subscribe(t, "caller", fntest.Sub{Status: "active"})
	code, body := w.Post(t, token, `{"plan":"premium","subscriptionId":"sub_victim","userId":"someone"}`)
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	reqs := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")
	if len(reqs) != 1 || reqs[0].Path != "/v1/subscriptions/sub_caller" {
		t.Fatalf("updates %+v", reqs)
	}
}

func TestChangeStripeError(t *testing.T) {
	w := start(t, fntest.Options{})
	_, token := w.Subscribe(t, "err", fntest.Sub{Status: "active"})
	w.Proxy.Fail(http.MethodPost, "/v1/subscriptions/", 400,
		map[string]any{"type": "invalid_request_error", "param": "items[0][price]", "message": "No such price"})
	code, body := w.Post(t, token, `{"plan":"premium"}`)
	if code != http.StatusBadGateway || body["error"] != httpkit.CodeStripeError {
		t.Fatalf("%d %v", code, body)
	}
	if row := fntest.ReadSubscription(t, w.DB, "sub_err"); row.Status != "active" {
		t.Errorf("row %+v", row)
	}
}
