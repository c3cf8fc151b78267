// Package portal is the create-portal-session function: a Stripe Billing
// Portal session for the caller's own Stripe customer, where the user
// changes the payment method, sees invoices and changes the plan.
//
// The customer is the one stored on the caller's profile (created by their
// first checkout); a user who never checked out gets 404 no_customer. The
// return URL is SITE_URL + returnPath when the body gives a path on the
// site, else STRIPE_BILLING_PORTAL_RETURN_URL, else SITE_URL + /account.
// A stored customer that Stripe no longer has (deleted in the Dashboard or
// by a data-deletion request) is unlinked and answered 404 no_customer,
// so that the user's next checkout creates a new one.
package portal

import (
	"context"
	"net/http"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/auth"
	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/httpkit"
	"billing/shared/store"
	"billing/shared/stripeclient"
)

// Name is the function's URL name.
const Name = "create-portal-session"

// DefaultReturnPath is the return path on SITE_URL when neither the body
// nor STRIPE_BILLING_PORTAL_RETURN_URL gives one.
const DefaultReturnPath = "/account"

// Spec describes the function for function.Main and the local server.
var Spec = function.Spec{
	Name:  Name,
	Needs: config.NeedDatabase | config.NeedAuth | config.NeedStripe | config.NeedPlans | config.NeedSite,
	Build: func(_ context.Context, d *function.Deps) (http.Handler, error) {
		sc := stripeclient.New(d.Config.StripeSecretKey, d.Config.StripeAPIBase, nil, d.Log)
		return New(d.Verifier, d.Store, sc.BillingPortalSessions,
			Options{SiteURL: d.Config.SiteURL, ReturnURL: d.Config.PortalReturnURL}), nil
	},
}

// StateReader reads a user's billing state and calls the billing SQL
// functions (store.Store).
type StateReader interface {
	UserState(ctx context.Context, userID string) (store.UserState, error)
	Call(ctx context.Context, fn string, args []store.Arg, out any) error
}

// SessionCreator creates Billing Portal sessions (stripe-go's
// billingportal/session.Client).
type SessionCreator interface {
	New(params *stripe.BillingPortalSessionParams) (*stripe.BillingPortalSession, error)
}

// Options are the URLs the return URL is made from.
type Options struct {
	// SiteURL is SITE_URL.
	SiteURL string
	// ReturnURL is STRIPE_BILLING_PORTAL_RETURN_URL, or "".
	ReturnURL string
}

// New returns the create-portal-session handler.
func New(a function.Authenticator, st StateReader, sessions SessionCreator, opt Options) http.Handler {
	h := &handler{auth: a, state: st, sessions: sessions, opt: opt}
	return httpkit.Handle(h.serve)
}

type handler struct {
	auth     function.Authenticator
	state    StateReader
	sessions SessionCreator
	opt      Options
}

// Params is the request body. Unknown fields (a customerId or userId) are
// ignored: the customer is always the caller's.
type Params struct {
	ReturnPath string `json:"returnPath"`
}

// Response is the answer: the portal session to redirect to.
type Response struct {
	URL string `json:"url"`
}

// returnURL is SITE_URL + the safe returnPath, else the configured return
// URL, else SITE_URL + DefaultReturnPath.
func (h *handler) returnURL(p Params) (string, error) {
	path, err := httpkit.SafePath("returnPath", p.ReturnPath, "")
	if err != nil {
		return "", err
	}
	switch {
	case path != "":
		return httpkit.JoinURL(h.opt.SiteURL, path), nil
	case h.opt.ReturnURL != "":
		return h.opt.ReturnURL, nil
	}
	return httpkit.JoinURL(h.opt.SiteURL, DefaultReturnPath), nil
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	var p Params
	user, err := function.DecodeUserPOST(w, r, h.auth, &p)
	if err != nil {
		return err
	}
	ret, err := h.returnURL(p)
	if err != nil {
		return err
	}
	ctx := r.Context()
	st, err := h.state.UserState(ctx, user.ID)
	if err != nil {
		return store.HTTPError(err)
	}
	if st.StripeCustomerID == "" {
		return httpkit.NewError(http.StatusNotFound, httpkit.CodeNoCustomer,
			"You have no billing account yet; subscribe to a plan first (create-checkout-session).")
	}
	params := &stripe.BillingPortalSessionParams{
		Customer:  stripe.String(st.StripeCustomerID),
		ReturnURL: stripe.String(ret),
	}
	params.Context = ctx
	params.SetIdempotencyKey("portal-session:" + user.ID + ":" + auth.NewUUID())
	s, err := h.sessions.New(params)
	if isMissingCustomer(err) {
		return h.customerGone(ctx, user.ID, st.StripeCustomerID)
	}
	if err != nil {
		return stripeclient.Error(ctx, "create portal session", err)
	}
	httpkit.Logger(ctx).InfoContext(ctx, "portal session created", "user_id", user.ID,
		"customer_id", st.StripeCustomerID)
	httpkit.WriteJSON(w, http.StatusOK, Response{URL: s.URL})
	return nil
}
