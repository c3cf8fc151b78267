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
// active, trialing or past_due gets 409 already_subscribed.
package checkout

import (
	"context"
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
		return New(d.Verifier, d.Store, sc.Customers, sc.CheckoutSessions, d.Catalog,
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

// SessionCreator creates Checkout Sessions (stripe-go's checkout/session.Client).
type SessionCreator interface {
	New(params *stripe.CheckoutSessionParams) (*stripe.CheckoutSession, error)
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
	return o
}

// New returns the create-checkout-session handler.
func New(a function.Authenticator, db Caller, customers CustomerCreator, sessions SessionCreator, cat *plans.Catalog, opt Options) http.Handler {
	h := &handler{auth: a, db: db, customers: customers, sessions: sessions, catalog: cat, opt: opt.withDefaults()}
	return httpkit.Handle(h.serve)
}

type handler struct {
	auth      function.Authenticator
	db        Caller
	customers CustomerCreator
	sessions  SessionCreator
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
	if l.BlockingSubscription != "" {
		log.InfoContext(ctx, "checkout refused: already subscribed", "subscription_id", l.BlockingSubscription)
		return httpkit.NewError(http.StatusConflict, httpkit.CodeAlreadySubscribed,
			"You already have a subscription. Change or cancel it in the billing portal (create-portal-session) instead of starting a new checkout.")
	}
	req.promotionCodes = h.promotionCodes(p)
	if req.trialDays, err = h.trialDays(ctx, user.ID, req.plan.TrialDays); err != nil {
		return err
	}
	customer := l.StripeCustomerID
	if customer == "" {
		if customer, err = h.createCustomer(ctx, user); err != nil {
			return err
		}
	}
	s, err := h.sessions.New(h.sessionParams(ctx, user.ID, customer, req))
	if err != nil {
		return stripeclient.Error(ctx, "create checkout session", err)
	}
	log.InfoContext(ctx, "checkout session created", "session_id", s.ID, "customer_id", customer)
	httpkit.WriteJSON(w, http.StatusOK, Response{SessionID: s.ID, URL: s.URL})
	return nil
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
	}
	if req.promotionCodes {
		p.AllowPromotionCodes = stripe.Bool(true)
	}
	p.Context = ctx
	p.AddMetadata(MetadataUserID, userID)
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
