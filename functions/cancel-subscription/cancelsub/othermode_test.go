package cancelsub_test

import (
	"net/http"
	"testing"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/internal/stripetest/fntest"
)

// TestCancelIgnoresOtherModeRow: DESIGN.md "Only subscriptions of the
// configured STRIPE_MODE count". The deployment runs in test mode; the
// user's subscription of this mode must be the one cancelled, not a newer
// row of the other Stripe mode (a database shared with another deployment).
func TestCancelIgnoresOtherModeRow(t *testing.T) {
	w := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	user, token := w.Subscribe(t, "own", fntest.Sub{Status: "active"})
	fntest.InsertSubscription(t, w.DB, fntest.Sub{ID: "sub_othermode", UserID: user, CustomerID: "cus_othermode",
		Status: "active", Livemode: true})
	// The other mode's row is the newer one.
	w.DB.MustExec(t, `update public.subscriptions set stripe_created = now() - interval '1 day' where id = 'sub_othermode'`)

	code, body := w.Post(t, token, `{}`)
	reqs := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")
	var paths []string
	for _, r := range reqs {
		paths = append(paths, r.Path)
	}
	if len(reqs) != 1 || reqs[0].Path != "/v1/subscriptions/sub_own" {
		t.Errorf("Stripe updates %v, want exactly /v1/subscriptions/sub_own (answer %d %v)", paths, code, body)
	}
	if row := fntest.ReadSubscription(t, w.DB, "sub_own"); !row.CancelAtPeriodEnd {
		t.Errorf("the user's own subscription of this mode was not cancelled (answer %d cancelAtPeriodEnd=%v)", code, body["cancelAtPeriodEnd"])
	}
}
