// Package changeplan is the change-plan function: it previews what a
// change of the caller's subscription to another paid plan costs, from
// Stripe's own invoice preview, and then makes that change so that the
// amount charged is the one previewed (the same proration date).
//
// The plan catalog lists plans from the lowest to the highest; a change to
// a later plan is an upgrade, to an earlier one a downgrade:
//
//   - An upgrade takes effect at once: the subscription's item changes
//     price with proration_behavior=always_invoice (the difference is
//     charged now) and payment_behavior=pending_if_incomplete, so that a
//     payment that fails leaves the old plan in place (Stripe keeps the
//     change as the subscription's pending_update). The answer is then
//     402 payment_failed with the hosted invoice URL where the user pays;
//     the change applies when that invoice is paid, and lapses when the
//     pending update expires.
//   - A downgrade takes effect at the end of the paid period: a
//     subscription schedule keeps the current plan until then and moves to
//     the new one, then releases the subscription. With the catalog's
//     "downgrade": "immediately", it changes at once with prorations
//     credited to the next invoice.
//   - A change back to the current plan while a downgrade is scheduled
//     releases the schedule (the downgrade is removed); a new downgrade
//     replaces the scheduled one, and an upgrade releases it first.
//
// The subscription is always the caller's, read from the database; an ID
// in the body is ignored. Stripe's answers are applied at once through
// stripesync (the webhook's SQL path), so the answer, the
// check-subscription body, already shows the change.
package changeplan

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/functions/check-subscription/checksub"
	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/httpkit"
	"billing/shared/plans"
	"billing/shared/store"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// Name is the function's URL name.
const Name = "change-plan"

// Spec describes the function for function.Main and the local server.
var Spec = function.Spec{
	Name:  Name,
	Needs: config.NeedDatabase | config.NeedAuth | config.NeedStripe | config.NeedPlans | config.NeedSite,
	Build: func(_ context.Context, d *function.Deps) (http.Handler, error) {
		sc := stripeclient.New(d.Config.StripeSecretKey, d.Config.StripeAPIBase, nil, d.Log)
		ap := &stripesync.Syncer{Store: d.Store, Catalog: d.Catalog}
		return New(d.Verifier, d.Store, Stripe{Subscriptions: sc.Subscriptions, Invoices: sc.Invoices,
			Schedules: sc.SubscriptionSchedules}, ap, d.Catalog, time.Now), nil
	},
}

// StateReader reads a user's billing state.
type StateReader interface {
	UserState(ctx context.Context, userID string) (store.UserState, error)
}

// Subscriptions reads and updates Stripe subscriptions (stripe-go's subscription.Client).
type Subscriptions interface {
	Get(id string, params *stripe.SubscriptionParams) (*stripe.Subscription, error)
	Update(id string, params *stripe.SubscriptionParams) (*stripe.Subscription, error)
}

// Invoices previews invoices (stripe-go's invoice.Client).
type Invoices interface {
	Upcoming(params *stripe.InvoiceUpcomingParams) (*stripe.Invoice, error)
}

// Schedules creates, updates and releases subscription schedules
// (stripe-go's subscriptionschedule.Client).
type Schedules interface {
	New(params *stripe.SubscriptionScheduleParams) (*stripe.SubscriptionSchedule, error)
	Update(id string, params *stripe.SubscriptionScheduleParams) (*stripe.SubscriptionSchedule, error)
	Release(id string, params *stripe.SubscriptionScheduleReleaseParams) (*stripe.SubscriptionSchedule, error)
}

// Stripe is the part of Stripe's API the function uses.
type Stripe struct {
	Subscriptions Subscriptions
	Invoices      Invoices
	Schedules     Schedules
}

// Applier applies Stripe's answers to the database (stripesync.Syncer);
// stateAt is a lower bound of Stripe's read of the answer.
type Applier interface {
	ApplyOwnWrite(ctx context.Context, raw []byte, stateAt time.Time, read stripesync.SubscriptionReader) (stripesync.ApplyResult, error)
	ApplySchedule(ctx context.Context, ev *stripesync.Event, payload json.RawMessage, raw []byte, stateAt time.Time, source string) (stripesync.ScheduleResult, error)
}

// New returns the change-plan handler.
func New(a function.Authenticator, st StateReader, sc Stripe, ap Applier, cat *plans.Catalog, now func() time.Time) http.Handler {
	h := &handler{auth: a, state: st, stripe: sc, apply: ap, catalog: cat, now: now}
	return httpkit.Handle(h.serve)
}

type handler struct {
	auth    function.Authenticator
	state   StateReader
	stripe  Stripe
	apply   Applier
	catalog *plans.Catalog
	now     func() time.Time
}

// Params is the request body. Unknown fields (a subscriptionId, a userId)
// are ignored.
type Params struct {
	// Plan is the catalog plan to change to.
	Plan string `json:"plan"`
	// Preview asks what the change would cost; nothing changes.
	Preview bool `json:"preview"`
	// ProrationDate is the preview's prorationDate (Unix seconds): the
	// change is prorated as of then, so that it costs what the preview
	// showed. Without it the change is prorated as of now.
	ProrationDate *int64 `json:"prorationDate"`
}

// MaxPreviewAge is how old a preview's prorationDate may be when the change
// is made; an older one is 409 preview_expired (preview again).
const MaxPreviewAge = time.Hour

// maxClockSkew is how far in the future a prorationDate may be.
const maxClockSkew = 5 * time.Minute

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	var p Params
	user, err := function.DecodeUserPOST(w, r, h.auth, &p)
	if err != nil {
		return err
	}
	target, err := h.targetPlan(p.Plan)
	if err != nil {
		return err
	}
	now := h.now()
	var prorationDate time.Time
	if p.ProrationDate != nil && !p.Preview {
		prorationDate = time.Unix(*p.ProrationDate, 0).UTC()
		if prorationDate.After(now.Add(maxClockSkew)) {
			return httpkit.BadRequest("Field \"prorationDate\" is in the future; send the value the preview answered with.")
		}
		if now.Sub(prorationDate) > MaxPreviewAge {
			return httpkit.NewError(http.StatusConflict, CodePreviewExpired,
				"The price preview is too old; preview the change again.")
		}
	}
	ctx := r.Context()
	st, err := h.state.UserState(ctx, user.ID)
	if err != nil {
		return store.HTTPError(err)
	}
	sub, err := Changeable(st.InMode(h.catalog.Mode), now)
	if err != nil {
		return err
	}
	log := httpkit.Logger(ctx).With("user_id", user.ID, "subscription_id", sub.ID, "plan", target.ID)
	ctx = httpkit.WithLogger(ctx, log)
	c, err := h.plan(sub, target)
	if err != nil {
		return err
	}
	if !p.Preview && c.kind == kindDowngrade && c.effective == EffectivePeriodEnd && sub.ScheduledPlan == target.ID {
		log.InfoContext(ctx, "change-plan: this downgrade is already scheduled")
		return h.answer(ctx, w, user.ID)
	}
	if err := h.load(ctx, &c); err != nil {
		return err
	}
	if p.Preview {
		pv, err := h.preview(ctx, c, now)
		if err != nil {
			return err
		}
		httpkit.WriteJSON(w, http.StatusOK, pv)
		return nil
	}
	if prorationDate.IsZero() {
		prorationDate = now.UTC().Truncate(time.Second)
	}
	if c.stripeSub.CurrentPeriodStart > 0 && prorationDate.Unix() < c.stripeSub.CurrentPeriodStart {
		return httpkit.NewError(http.StatusConflict, CodePreviewExpired,
			"The price preview is from before the current billing period; preview the change again.")
	}
	wrote402, err := h.change(ctx, w, c, prorationDate)
	if err != nil || wrote402 {
		return err
	}
	return h.answer(ctx, w, user.ID)
}

// targetPlan validates the requested plan: a paid plan of the catalog.
func (h *handler) targetPlan(raw string) (plans.Plan, error) {
	id := strings.ToLower(strings.TrimSpace(raw))
	if id == "" {
		return plans.Plan{}, httpkit.BadRequest("Field \"plan\" is required (one of %s).", h.paidPlans())
	}
	plan, ok := h.catalog.Plan(id)
	if !ok {
		return plans.Plan{}, httpkit.Errorf(http.StatusBadRequest, CodeUnknownPlan,
			"Unknown plan %q; choose one of %s.", truncate(raw, 64), h.paidPlans())
	}
	if !h.catalog.IsPaid(plan.ID) {
		return plans.Plan{}, httpkit.Errorf(http.StatusBadRequest, CodeFreePlan,
			"Plan %q is free: cancel the subscription (cancel-subscription) instead of changing to it.", plan.ID)
	}
	return plan, nil
}

// paidPlans lists the plans a change can go to, for error messages.
func (h *handler) paidPlans() string {
	var ids []string
	for _, p := range h.catalog.Plans {
		if h.catalog.IsPaid(p.ID) {
			ids = append(ids, `"`+p.ID+`"`)
		}
	}
	return strings.Join(ids, ", ")
}

// answer writes the check-subscription body of the user.
func (h *handler) answer(ctx context.Context, w http.ResponseWriter, userID string) error {
	res, err := checksub.Compute(ctx, h.state, h.catalog, userID, h.now())
	if err != nil {
		return err
	}
	httpkit.WriteJSON(w, http.StatusOK, res)
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
