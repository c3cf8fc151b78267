package changeplan_test

import (
	"net/http"
	"strings"
	"testing"

	"billing/internal/stripetest/fntest"
)

// TestChangePlanIgnoresOtherModeRow: DESIGN.md "Only subscriptions of
// the configured STRIPE_MODE count". In a test-mode deployment a preview
// of an upgrade concerns the user's own test-mode subscription, not a
// newer row of the other Stripe mode.
func TestChangePlanIgnoresOtherModeRow(t *testing.T) {
	w := start(t, fntest.Options{})
	user, token := w.Subscribe(t, "own", fntest.Sub{Status: "active"})
	fntest.InsertSubscription(t, w.DB, fntest.Sub{ID: "sub_othermode", UserID: user, CustomerID: "cus_othermode",
		Status: "active", Livemode: true})
	w.DB.MustExec(t, `update public.subscriptions set stripe_created = now() - interval '1 day' where id = 'sub_othermode'`)

	code, body := w.Post(t, token, `{"plan":"premium","preview":true}`)
	var paths []string
	for _, r := range w.Proxy.Requests(http.MethodGet, "/v1/subscriptions/") {
		paths = append(paths, r.Path)
	}
	if code != http.StatusOK || len(paths) != 1 || !strings.HasSuffix(paths[0], "/sub_own") {
		t.Errorf("preview read %v (answer %d %v), want the user's own sub_own", paths, code, body)
	}
}
