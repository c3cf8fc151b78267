package checkout

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/checkout/session"
	"github.com/stripe/stripe-go/v76/subscription"

	"billing/shared/httpkit"
)

// Metadata keys our sessions carry besides MetadataUserID, to tell whether
// an open session is for the plan and price a new checkout asks for.
const (
	MetadataPlan  = "plan"
	MetadataPrice = "price_id"
)

// Session lifetimes.
const (
	// DefaultSessionTTL is how long a new Checkout Session stays open
	// (Stripe's expires_at; Stripe allows 30 minutes to 24 hours, and its
	// default of 24 hours leaves an old tab payable for a day).
	DefaultSessionTTL = 45 * time.Minute
	// MinReuseLeft is the time an open session must have left to be
	// returned again instead of a new one.
	MinReuseLeft = 10 * time.Minute
	// maxOpenSessions bounds the open sessions one checkout looks at.
	maxOpenSessions = 100
)

// CodeSubscriptionNeedsPayment is the 409 error code of a checkout refused
// because the user's subscription is incomplete, unpaid or paused: it
// waits for a payment or a payment method, which the billing portal takes.
const CodeSubscriptionNeedsPayment = "subscription_needs_payment"

// SessionClient creates, lists, retrieves and expires Checkout Sessions
// (stripe-go's checkout/session.Client).
type SessionClient interface {
	New(params *stripe.CheckoutSessionParams) (*stripe.CheckoutSession, error)
	Get(id string, params *stripe.CheckoutSessionParams) (*stripe.CheckoutSession, error)
	Expire(id string, params *stripe.CheckoutSessionExpireParams) (*stripe.CheckoutSession, error)
	List(params *stripe.CheckoutSessionListParams) *session.Iter
}

// SubscriptionLister lists a customer's subscriptions in Stripe (stripe-go's
// subscription.Client).
type SubscriptionLister interface {
	List(params *stripe.SubscriptionListParams) *subscription.Iter
}

// maxListedSubscriptions bounds the subscriptions refuseLiveInStripe reads.
const maxListedSubscriptions = 100

// refuseLiveInStripe is the 409 of refuse for a subscription the customer
// has in Stripe that the database does not hold yet: a session paid a
// moment ago whose webhook events have not arrived (a second tab, Back
// from the success page), or one made in the Dashboard. Once paid, a
// session is no longer open, so settleOpen does not see it; Stripe's list
// of the customer's subscriptions (those not canceled) does.
func (h *handler) refuseLiveInStripe(ctx context.Context, customer string) error {
	lp := &stripe.SubscriptionListParams{Customer: stripe.String(customer)}
	lp.Context = ctx
	lp.Limit = stripe.Int64(maxListedSubscriptions)
	it := h.subs.List(lp)
	for n := 0; n < maxListedSubscriptions && it.Next(); n++ {
		s := it.Subscription()
		switch s.Status {
		case stripe.SubscriptionStatusActive, stripe.SubscriptionStatusTrialing, stripe.SubscriptionStatusPastDue,
			stripe.SubscriptionStatusIncomplete, stripe.SubscriptionStatusUnpaid, stripe.SubscriptionStatusPaused:
			httpkit.Logger(ctx).InfoContext(ctx, "checkout refused: the customer has a subscription in Stripe the database does not show yet",
				"customer_id", customer, "subscription_id", s.ID, "status", s.Status)
			return refuse(lease{BlockingSubscription: s.ID, BlockingStatus: string(s.Status)})
		}
	}
	if err := it.Err(); err != nil {
		return &stripeFailure{"list subscriptions", err}
	}
	return nil
}

// stripeFailure is a Stripe call that failed, with the operation's name
// for stripeclient.Error.
type stripeFailure struct {
	op  string
	err error
}

func (f *stripeFailure) Error() string { return f.op + ": " + f.err.Error() }
func (f *stripeFailure) Unwrap() error { return f.err }

// isMissingCustomer reports whether err is Stripe's resource_missing for
// the customer parameter: the stored customer was deleted in Stripe.
func isMissingCustomer(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceMissing && se.Param == "customer"
}

// settleOpen looks at the customer's open Checkout Sessions: it returns
// the newest one of our own for the same user, plan, price and return URLs
// that has at least MinReuseLeft left (nil when none), and expires every
// other open subscription-mode session, so that at most one session of
// the user can be paid. A session Stripe refuses to expire because it was
// paid meanwhile is 409 already_subscribed.
func (h *handler) settleOpen(ctx context.Context, userID, customer string, req request) (*stripe.CheckoutSession, error) {
	lp := &stripe.CheckoutSessionListParams{Customer: stripe.String(customer), Status: stripe.String("open")}
	lp.Context = ctx
	lp.Limit = stripe.Int64(maxOpenSessions)
	var open []*stripe.CheckoutSession
	it := h.sessions.List(lp)
	for len(open) < maxOpenSessions && it.Next() {
		s := it.CheckoutSession()
		// Stripe lists only this customer's sessions; the check guards
		// against anything else.
		if s.Status == stripe.CheckoutSessionStatusOpen && s.Mode == stripe.CheckoutSessionModeSubscription &&
			s.Customer != nil && s.Customer.ID == customer {
			open = append(open, s)
		}
	}
	if err := it.Err(); err != nil {
		return nil, &stripeFailure{"list checkout sessions", err}
	}
	var reuse *stripe.CheckoutSession
	for _, s := range open {
		if h.reusable(s, userID, req) && (reuse == nil || s.ExpiresAt > reuse.ExpiresAt) {
			reuse = s
		}
	}
	log := httpkit.Logger(ctx)
	for _, s := range open {
		if s == reuse {
			continue
		}
		if err := h.expire(ctx, s.ID); err != nil {
			return nil, err
		}
		log.InfoContext(ctx, "earlier checkout session expired", "user_id", userID, "session_id", s.ID)
	}
	return reuse, nil
}

// reusable reports whether the open session s can be returned for req.
func (h *handler) reusable(s *stripe.CheckoutSession, userID string, req request) bool {
	return s.Metadata[MetadataUserID] == userID && s.Metadata[MetadataPlan] == req.plan.ID &&
		s.Metadata[MetadataPrice] == req.price && s.SuccessURL == req.successURL &&
		s.CancelURL == req.cancelURL && s.URL != "" &&
		time.Until(time.Unix(s.ExpiresAt, 0)) >= MinReuseLeft
}

// expire expires one open session. When Stripe refuses because the session
// is no longer open, it is read back: paid (complete) is 409
// already_subscribed, expired meanwhile is fine.
func (h *handler) expire(ctx context.Context, id string) error {
	p := &stripe.CheckoutSessionExpireParams{}
	p.Context = ctx
	_, err := h.sessions.Expire(id, p)
	var se *stripe.Error
	if err == nil || !errors.As(err, &se) || se.HTTPStatusCode != http.StatusBadRequest {
		if err != nil {
			return &stripeFailure{"expire checkout session", err}
		}
		return nil
	}
	gp := &stripe.CheckoutSessionParams{}
	gp.Context = ctx
	s, gerr := h.sessions.Get(id, gp)
	if gerr != nil {
		return &stripeFailure{"retrieve checkout session", gerr}
	}
	switch s.Status {
	case stripe.CheckoutSessionStatusExpired:
		return nil
	case stripe.CheckoutSessionStatusComplete:
		httpkit.Logger(ctx).InfoContext(ctx, "checkout refused: an earlier session was just paid", "session_id", id)
		return httpkit.NewError(http.StatusConflict, httpkit.CodeAlreadySubscribed,
			"A checkout you started earlier has just been paid. Wait a moment for your subscription to show, or open the billing portal (create-portal-session) to change it.")
	}
	return &stripeFailure{"expire checkout session", err}
}
