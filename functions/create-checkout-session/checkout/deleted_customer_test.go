package checkout_test

import (
	"net/http"
	"strings"
	"testing"

	"billing/functions/create-checkout-session/checkout"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
)

// noSuchCustomer is Stripe's answer for a customer deleted in Stripe.
func noSuchCustomer(id string) map[string]any {
	return map[string]any{"type": "invalid_request_error", "code": "resource_missing", "param": "customer",
		"message": "No such customer: '" + id + "'"}
}

// TestCheckoutCustomerDeletedInStripe: the stored customer was deleted in
// Stripe (Dashboard, a data-deletion request). The checkout unlinks it,
// creates a new customer once (with its own idempotency key: the user's
// first key would answer with the deleted customer for 24 hours) and
// checks out on it, instead of answering 502 forever.
func TestCheckoutCustomerDeletedInStripe(t *testing.T) {
	e := startCheckout(t, fntest.Options{})
	for _, where := range []string{"list", "create"} {
		t.Run("missing at "+where, func(t *testing.T) {
			user := e.DB.CreateUser(t, "")
			gone := "cus_gone" + where
			fntest.LinkCustomer(t, e.DB, user, gone)
			fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_old" + where, CustomerID: gone, Status: "canceled"})
			e.Proxy.Reset()
			e.Proxy.ClearFailures()
			method := map[string]string{"list": http.MethodGet, "create": http.MethodPost}[where]
			e.Proxy.FailWhen(method, "/v1/checkout/sessions", 400, noSuchCustomer(gone), func(r stripetest.Request) bool {
				return r.Form.Get("customer") == gone
			})
			code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"standard"}`)
			if code != http.StatusOK {
				t.Fatalf("%d %v, want 200 on a new customer", code, body)
			}
			customers := e.Proxy.Requests(http.MethodPost, "/v1/customers")
			if len(customers) != 1 {
				t.Fatalf("%d customers created, want 1", len(customers))
			}
			if k := customers[0].IdempotencyKey; k == checkout.CustomerIdempotencyKey(user) || !strings.Contains(k, gone) {
				t.Errorf("new customer's idempotency key %q: want one of its own, naming the deleted customer", k)
			}
			linked := fntest.CustomerOf(t, e.DB, user)
			if linked == "" || linked == gone {
				t.Fatalf("profile customer %q, want the new one", linked)
			}
			var created []stripetest.Request
			for _, r := range e.Proxy.Requests(http.MethodPost, "/v1/checkout/sessions") {
				if r.Form.Get("customer") == linked {
					created = append(created, r)
				}
			}
			if len(created) != 1 {
				t.Errorf("%d sessions for the new customer, want 1", len(created))
			}
			// The history stays and is still the user's.
			if row := fntest.ReadSubscription(t, e.DB, "sub_old"+where); row.UserID == nil || *row.UserID != user {
				t.Errorf("old subscription's user %v, want %s", row.UserID, user)
			}
		})
	}
	t.Run("a new customer is created once", func(t *testing.T) {
		user := e.DB.CreateUser(t, "")
		fntest.LinkCustomer(t, e.DB, user, "cus_gone_always")
		e.Proxy.Reset()
		e.Proxy.ClearFailures()
		e.Proxy.Fail(http.MethodPost, "/v1/checkout/sessions", 400, noSuchCustomer("cus_any"))
		code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"standard"}`)
		e.Proxy.ClearFailures()
		if code != http.StatusBadGateway || body["error"] != "stripe_error" {
			t.Fatalf("%d %v, want 502 stripe_error", code, body)
		}
		if n := e.Proxy.Count(http.MethodPost, "/v1/customers"); n != 1 {
			t.Errorf("%d customers created, want exactly 1", n)
		}
	})
}
