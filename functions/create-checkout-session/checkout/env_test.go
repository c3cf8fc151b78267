package checkout_test

import (
	"testing"

	"billing/functions/create-checkout-session/checkout"
	"billing/internal/stripetest/fntest"
)

// startCheckout starts the function with Stripe's list of a customer's
// subscriptions answered from the database (fntest's
// ListStoredSubscriptions): the checkout asks Stripe for them before it
// makes a session, and stripe-mock's fixture would be another customer's
// active subscription.
func startCheckout(t *testing.T, opt fntest.Options) *fntest.Env {
	t.Helper()
	e := fntest.Start(t, checkout.Spec, opt)
	e.ListStoredSubscriptions(t)
	return e
}
