package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"billing/functions/create-portal-session/portal"
	"billing/internal/stripetest/fntest"
)

// TestPortalCustomerDeletedInStripe: the stored customer was deleted in
// Stripe. The portal call unlinks it and answers 404 no_customer (the app
// shows the pricing page, whose checkout creates a new customer) instead
// of 502 on every call; the user's history stays.
func TestPortalCustomerDeletedInStripe(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			e := fntest.Start(t, portal.Spec, fntest.Options{Path: path})
			user := e.DB.CreateUser(t, "")
			fntest.LinkCustomer(t, e.DB, user, "cus_deleted")
			fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_hist", CustomerID: "cus_deleted", Status: "canceled"})
			e.Proxy.Fail(http.MethodPost, "/v1/billing_portal/sessions", 400, map[string]any{
				"type": "invalid_request_error", "code": "resource_missing", "param": "customer",
				"message": "No such customer: 'cus_deleted'"})
			token := e.Token(t, user, "")
			code, body := e.Post(t, token, `{}`)
			if code != http.StatusNotFound || body["error"] != "no_customer" {
				t.Fatalf("%d %v, want 404 no_customer", code, body)
			}
			if msg, _ := body["message"].(string); !strings.Contains(msg, "subscribe") {
				t.Errorf("message %q does not send the user to subscribe", msg)
			}
			if got := fntest.CustomerOf(t, e.DB, user); got != "" {
				t.Errorf("profile still linked to %q", got)
			}
			if row := fntest.ReadSubscription(t, e.DB, "sub_hist"); row.UserID == nil || *row.UserID != user {
				t.Errorf("history's user %v, want %s", row.UserID, user)
			}
			// The next call knows at once: no Stripe call.
			e.Proxy.Reset()
			if code, body := e.Post(t, token, `{}`); code != http.StatusNotFound || body["error"] != "no_customer" {
				t.Fatalf("second call %d %v", code, body)
			}
			if n := e.Proxy.Count("", "/"); n != 0 {
				t.Errorf("%d Stripe calls after the unlink", n)
			}
		})
	}
}
