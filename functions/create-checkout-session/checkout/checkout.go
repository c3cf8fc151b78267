// Package checkout is the create-checkout-session function: it turns a plan
// name into a Stripe Checkout Session (subscription mode) for the signed-in
// user and answers with the session's URL.
//
// The price comes from the plan catalog for the current Stripe mode; a
// client never sends a price ID. The user's Stripe customer is created once,
// before their first checkout, with the user ID in its metadata and an
// idempotency key derived from the user, and stored at once; it is never
// looked up by email. Each checkout holds a short per-user lease in the
// database (billing_checkout_lock), so parallel calls for one user are
// serialized: they create one customer, and a user whose subscription is
// active, trialing or past_due gets 409 already_subscribed (incomplete,
// unpaid or paused: 409 subscription_needs_payment).
//
// At most one session of a user can be paid: each expires after
// SessionTTL (45 minutes), and a checkout first lists the customer's open
// sessions, answers again an open one of the same plan, price and return
// URLs, and expires the others. A stored customer that Stripe answers
// resource_missing for (deleted in Stripe) is unlinked and replaced by a
// new customer, once.
package checkout

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/auth"
	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/httpkit"
	"billing/shared/plans"
	"billing/shared/store"
	"billing/shared/stripeclient"
)

// Name is the function's URL name.
const Name = "create-checkout-session"

// Default return paths on SITE_URL.
const (
	DefaultSuccessPath = "/payment/success"
	DefaultCancelPath  = "/pricing"
)

// SessionIDPlaceholder is the template Stripe replaces with the session ID
// in the success URL.
const SessionIDPlaceholder = "{CHECKOUT_SESSION_ID}"

// Spec describes the function for function.Main and the local server.
var Spec = function.Spec{
	Name:  Name,
	Needs: config.NeedDatabase | config.NeedAuth | config.NeedStripe | config.NeedPlans | config.NeedSite,
	Build: func(_ context.Context, d *function.Deps) (http.Handler, error) {
		sc := stripeclient.New(d.Config.StripeSecretKey, d.Config.StripeAPIBase, nil, d.Log)
		return New(d.Verifier, d.Store, sc.Customers, sc.CheckoutSessions, sc.Subscriptions, d.Catalog,
			Options{SiteURL: d.Config.SiteURL}), nil
	},
}

// Caller calls the billing SQL functions (store.Store over pgx or REST).
type Caller interface {
	Call(ctx context.Context, fn string, args []store.Arg, out any) error
}

// CustomerCreator creates Stripe customers (stripe-go's customer.Client).
type CustomerCreator interface {
	New(params *stripe.CustomerParams) (*stripe.Customer, error)
}

// Options tunes the handler; zero values take the defaults.
type Options struct {
	// SiteURL is SITE_URL, the base of the success and cancel URLs.
	SiteURL string
	// LeaseTTL is how long a checkout holds the user's lease at most
	// (default 30 s); a crashed function's lease expires after it.
	LeaseTTL time.Duration
	// LeaseWait is how long a call waits for another checkout of the same
	// user to finish before answering 409 checkout_in_progress (default 8 s).
	LeaseWait time.Duration
	// PollInterval is how often a waiting call tries the lease (default 75 ms).
	PollInterval time.Duration
	// SessionTTL is how long a new Checkout Session stays open
	// (DefaultSessionTTL; Stripe takes 30 minutes to 24 hours).
	SessionTTL time.Duration
}

func (o Options) withDefaults() Options {
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.LeaseWait <= 0 {
		o.LeaseWait = 8 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 75 * time.Millisecond
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	return o
}

// New returns the create-checkout-session handler.
func New(a function.Authenticator, db Caller, customers CustomerCreator, sessions SessionClient, subs SubscriptionLister,
	cat *plans.Catalog, opt Options) http.Handler {
	h := &handler{auth: a, db: db, customers: customers, sessions: sessions, subs: subs, catalog: cat, opt: opt.withDefaults()}
	return httpkit.Handle(h.serve)
}

type handler struct {
	auth      function.Authenticator
	db        Caller
	customers CustomerCreator
	sessions  SessionClient
	subs      SubscriptionLister
	catalog   *plans.Catalog
	opt       Options
}

// Params is the request body. Unknown fields (priceId, userId, email) are
// ignored: the price comes from the catalog, the user from the token.
type Params struct {
	Plan        string `json:"plan"`
	SuccessPath string `json:"successPath"`
	CancelPath  string `json:"cancelPath"`
	// PromotionCodes turns on Stripe's promotion code field (see offers.go).
	PromotionCodes *bool `json:"promotionCodes"`
}

// request is a validated Params.
type request struct {
	plan       plans.Plan
	price      string
	successURL string
	cancelURL  string
	// promotionCodes and trialDays are the session's offers (offers.go).
	promotionCodes bool
	trialDays      int
}

// Response is the answer: the session to redirect to.
type Response struct {
	SessionID string `json:"sessionId"`
	URL       string `json:"url"`
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	var p Params
	user, err := function.DecodeUserPOST(w, r, h.auth, &p)
	if err != nil {
		return err
	}
	req, err := h.validate(p)
	if err != nil {
		return err
	}
	ctx := r.Context()
	log := httpkit.Logger(ctx).With("user_id", user.ID, "plan", req.plan.ID)

	l, err := h.acquire(ctx, user.ID)
	if err != nil {
		return err
	}
	defer h.release(ctx, user.ID, l)
	if err := refuse(l); err != nil {
		log.InfoContext(ctx, "checkout refused: the user has a subscription",
			"subscription_id", l.BlockingSubscription, "status", l.BlockingStatus)
		return err
	}
	req.promotionCodes = h.promotionCodes(p)
	if req.trialDays, err = h.trialDays(ctx, user.ID, req.plan.TrialDays); err != nil {
		return err
	}
	customer, fresh := l.StripeCustomerID, false
	if customer == "" {
		if customer, err = h.createCustomer(ctx, user, CustomerIdempotencyKey(user.ID)); err != nil {
			return err
		}
		fresh = true
	}
	s, err := h.session(ctx, user.ID, customer, fresh, req)
	if !fresh && isMissingCustomer(err) {
		// Deleted in Stripe: forget it and check out once on a new one.
		log.WarnContext(ctx, "stripe customer missing in Stripe; unlinking it and creating a new one", "customer_id", customer)
		if err := h.unlink(ctx, user.ID, customer); err != nil {
			return err
		}
		if customer, err = h.createCustomer(ctx, user, ReplacementIdempotencyKey(user.ID, customer)); err != nil {
			return err
		}
		s, err = h.session(ctx, user.ID, customer, true, req)
	}
	if f := (*stripeFailure)(nil); errors.As(err, &f) {
		return stripeclient.Error(ctx, f.op, f.err)
	} else if err != nil {
		return err
	}
	log.InfoContext(ctx, "checkout session ready", "session_id", s.ID, "customer_id", customer)
	httpkit.WriteJSON(w, http.StatusOK, Response{SessionID: s.ID, URL: s.URL})
	return nil
}

// refuse is the 409 of a user who has a subscription already: a live one
// (active, trialing, past_due) goes to the portal to change it; one that
// waits for a payment (incomplete, unpaid, paused) goes to the portal to
// pay or add a payment method.
func refuse(l lease) error {
	switch {
	case l.BlockingSubscription == "":
		return nil
	case l.BlockingStatus == "incomplete" || l.BlockingStatus == "unpaid" || l.BlockingStatus == "paused":
		return httpkit.NewError(http.StatusConflict, CodeSubscriptionNeedsPayment,
			"Your subscription is waiting for a payment. Pay it or add a payment method in the billing portal (create-portal-session) instead of starting a new checkout.")
	}
	return httpkit.NewError(http.StatusConflict, httpkit.CodeAlreadySubscribed,
		"You already have a subscription. Change or cancel it in the billing portal (create-portal-session) instead of starting a new checkout.")
}

// session returns the Checkout Session to send the user to: none when the
// customer has a subscription in Stripe (refuseLiveInStripe), an open one
// of the same request when the customer has one (settleOpen, which also
// expires the others), else a new one. A customer created by this call
// (fresh) has no sessions to look at. A failed Stripe call is a
// *stripeFailure.
func (h *handler) session(ctx context.Context, userID, customer string, fresh bool, req request) (*stripe.CheckoutSession, error) {
	if !fresh {
		if err := h.refuseLiveInStripe(ctx, customer); err != nil {
			return nil, err
		}
		reuse, err := h.settleOpen(ctx, userID, customer, req)
		if err != nil || reuse != nil {
			return reuse, err
		}
	}
	s, err := h.sessions.New(h.sessionParams(ctx, userID, customer, req))
	if err != nil {
		return nil, &stripeFailure{"create checkout session", err}
	}
	return s, nil
}

// validate checks the plan (a paid plan of the catalog in the current mode)
// and the return paths (paths on SITE_URL, never another host).
func (h *handler) validate(p Params) (request, error) {
	var req request
	id := strings.ToLower(strings.TrimSpace(p.Plan))
	if id == "" {
		return req, httpkit.BadRequest("Field \"plan\" is required (one of %s).", h.paidPlans())
	}
	plan, ok := h.catalog.Plan(id)
	if !ok {
		return req, httpkit.BadRequest("Unknown plan %q; choose one of %s.", truncate(p.Plan, 64), h.paidPlans())
	}
	price, ok := h.catalog.PriceID(plan.ID)
	if !ok {
		return req, httpkit.BadRequest("Plan %q needs no checkout; choose one of %s.", plan.ID, h.paidPlans())
	}
	success, err := httpkit.SafePath("successPath", p.SuccessPath, DefaultSuccessPath)
	if err != nil {
		return req, err
	}
	cancel, err := httpkit.SafePath("cancelPath", p.CancelPath, DefaultCancelPath)
	if err != nil {
		return req, err
	}
	req.plan, req.price = plan, price
	req.successURL = WithSessionID(httpkit.JoinURL(h.opt.SiteURL, success))
	req.cancelURL = httpkit.JoinURL(h.opt.SiteURL, cancel)
	return req, nil
}

// paidPlans lists the plans a checkout can buy, for error messages.
func (h *handler) paidPlans() string {
	var ids []string
	for _, p := range h.catalog.Plans {
		if h.catalog.IsPaid(p.ID) {
			ids = append(ids, `"`+p.ID+`"`)
		}
	}
	return strings.Join(ids, ", ")
}

// WithSessionID adds session_id={CHECKOUT_SESSION_ID} to the query of u
// (after an existing query, before a fragment) unless u already has it.
func WithSessionID(u string) string {
	if strings.Contains(u, SessionIDPlaceholder) {
		return u
	}
	frag := ""
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u, frag = u[:i], u[i:]
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
		if strings.HasSuffix(u, "?") || strings.HasSuffix(u, "&") {
			sep = ""
		}
	}
	return u + sep + "session_id=" + SessionIDPlaceholder + frag
}

// sessionParams builds the Checkout Session: subscription mode for the
// user's customer, the user ID on the session and on the subscription, and
// a fresh idempotency key per call (a fixed per-user key would replay an
// old session for 24 hours).
func (h *handler) sessionParams(ctx context.Context, userID, customer string, req request) *stripe.CheckoutSessionParams {
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(customer),
		ClientReferenceID: stripe.String(userID),
		LineItems: []*stripe.CheckoutSessionLineItemParams{
			{Price: stripe.String(req.price), Quantity: stripe.Int64(1)},
		},
		SuccessURL:       stripe.String(req.successURL),
		CancelURL:        stripe.String(req.cancelURL),
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{},
		ExpiresAt:        stripe.Int64(time.Now().Add(h.opt.SessionTTL).Unix()),
	}
	if req.promotionCodes {
		p.AllowPromotionCodes = stripe.Bool(true)
	}
	p.Context = ctx
	p.AddMetadata(MetadataUserID, userID)
	p.AddMetadata(MetadataPlan, req.plan.ID)
	p.AddMetadata(MetadataPrice, req.price)
	p.SubscriptionData.AddMetadata(MetadataUserID, userID)
	if req.trialDays > 0 {
		p.SubscriptionData.TrialPeriodDays = stripe.Int64(int64(req.trialDays))
	}
	p.SetIdempotencyKey("checkout-session:" + userID + ":" + auth.NewUUID())
	return p
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
