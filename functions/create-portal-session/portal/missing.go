package portal

import (
	"context"
	"errors"
	"net/http"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/httpkit"
	"billing/shared/store"
)

// isMissingCustomer reports whether err is Stripe's resource_missing for
// the customer parameter: the stored customer was deleted in Stripe.
func isMissingCustomer(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceMissing && se.Param == "customer"
}

// customerGone unlinks the user's customer that Stripe no longer has
// (billing_unlink_customer keeps its subscriptions as the user's history)
// and answers 404 no_customer: the pricing page's checkout creates a new
// customer.
func (h *handler) customerGone(ctx context.Context, userID, customer string) error {
	log := httpkit.Logger(ctx)
	log.WarnContext(ctx, "stripe customer missing in Stripe; unlinking it", "user_id", userID, "customer_id", customer)
	err := h.state.Call(ctx, "billing_unlink_customer",
		[]store.Arg{{Name: "p_customer_id", Value: customer}, {Name: "p_user_id", Value: userID}}, nil)
	if err != nil {
		return store.HTTPError(err)
	}
	return httpkit.NewError(http.StatusNotFound, httpkit.CodeNoCustomer,
		"Your billing account no longer exists; subscribe to a plan again (create-checkout-session).")
}
