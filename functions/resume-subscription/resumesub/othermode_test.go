package resumesub_test

import (
	"net/http"
	"testing"

	"billing/functions/resume-subscription/resumesub"
	"billing/internal/stripetest/fntest"
)

// TestResumeIgnoresOtherModeRow: DESIGN.md "Only subscriptions of the
// configured STRIPE_MODE count". In a test-mode deployment the user's own
// test-mode subscription, scheduled to cancel, is the one resumed, not a
// newer row of the other Stripe mode.
func TestResumeIgnoresOtherModeRow(t *testing.T) {
	w := fntest.StartSubscribers(t, resumesub.Spec, fntest.Options{})
	user, token := w.Subscribe(t, "own", fntest.Sub{Status: "active", CancelAtPeriodEnd: true})
	fntest.InsertSubscription(t, w.DB, fntest.Sub{ID: "sub_othermode", UserID: user, CustomerID: "cus_othermode",
		Status: "active", CancelAtPeriodEnd: true, Livemode: true})
	w.DB.MustExec(t, `update public.subscriptions set stripe_created = now() - interval '1 day' where id = 'sub_othermode'`)

	code, body := w.Post(t, token, `{}`)
	var paths []string
	for _, r := range w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/") {
		paths = append(paths, r.Path)
	}
	if len(paths) != 1 || paths[0] != "/v1/subscriptions/sub_own" {
		t.Errorf("Stripe updates %v, want exactly /v1/subscriptions/sub_own (answer %d %v)", paths, code, body)
	}
	if row := fntest.ReadSubscription(t, w.DB, "sub_own"); row.CancelAtPeriodEnd {
		t.Errorf("the user's own subscription is still scheduled to cancel (answer %d)", code)
	}
}
