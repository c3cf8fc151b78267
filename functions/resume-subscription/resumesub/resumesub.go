// Package resumesub is the resume-subscription function: it undoes the
// caller's own scheduled cancel before the paid period ends
// (cancel_at_period_end=false), so the subscription renews again. A
// cancellation the merchant scheduled (a fixed cancel_at) is not the
// user's to undo: 409 not_resumable, contact support.
//
// The subscription is always the caller's, read from the database; an ID in
// the body is ignored. Stripe's answer is applied to the database at once
// through stripesync (billing_apply_event, the SQL path the webhook uses),
// and the answer is the check-subscription body. Nothing scheduled, or a
// period already over, is 409 not_resumable; no subscription at all is 404
// no_subscription.
package resumesub

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/functions/check-subscription/checksub"
	"billing/shared/auth"
	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/httpkit"
	"billing/shared/plans"
	"billing/shared/store"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// Name is the function's URL name.
const Name = "resume-subscription"

// Spec describes the function for function.Main and the local server.
var Spec = function.Spec{
	Name:  Name,
	Needs: config.NeedDatabase | config.NeedAuth | config.NeedStripe | config.NeedPlans | config.NeedSite,
	Build: func(_ context.Context, d *function.Deps) (http.Handler, error) {
		sc := stripeclient.New(d.Config.StripeSecretKey, d.Config.StripeAPIBase, nil, d.Log)
		ap := &stripesync.Syncer{Store: d.Store, Catalog: d.Catalog}
		return New(d.Verifier, d.Store, sc.Subscriptions, ap, d.Catalog, time.Now), nil
	},
}

// StateReader reads a user's billing state.
type StateReader interface {
	UserState(ctx context.Context, userID string) (store.UserState, error)
}

// SubscriptionUpdater updates and reads Stripe subscriptions (stripe-go's
// subscription.Client).
type SubscriptionUpdater interface {
	Update(id string, params *stripe.SubscriptionParams) (*stripe.Subscription, error)
	stripeclient.SubscriptionGetter
}

// Applier applies a subscription object Stripe answered with to the
// database (stripesync.Syncer, without emails); stateAt is Stripe's clock
// reading of the answer; read reads the subscription again when the
// answer lost a same-second race (stripesync.ApplyOwnWrite).
type Applier interface {
	ApplyOwnWrite(ctx context.Context, raw []byte, stateAt time.Time, read stripesync.SubscriptionReader) (stripesync.ApplyResult, error)
}

// New returns the resume-subscription handler.
func New(a function.Authenticator, st StateReader, subs SubscriptionUpdater, ap Applier, cat *plans.Catalog, now func() time.Time) http.Handler {
	h := &handler{auth: a, state: st, subs: subs, apply: ap, catalog: cat, now: now}
	return httpkit.Handle(h.serve)
}

type handler struct {
	auth    function.Authenticator
	state   StateReader
	subs    SubscriptionUpdater
	apply   Applier
	catalog *plans.Catalog
	now     func() time.Time
}

// Params is the request body: nothing is read from it ({} or empty);
// unknown fields such as a subscriptionId are ignored.
type Params struct{}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	var p Params
	user, err := function.DecodeUserPOST(w, r, h.auth, &p)
	if err != nil {
		return err
	}
	ctx := r.Context()
	st, err := h.state.UserState(ctx, user.ID)
	if err != nil {
		return store.HTTPError(err)
	}
	rows := st.InMode(h.catalog.Mode)
	if len(rows) == 0 {
		return httpkit.NewError(http.StatusNotFound, httpkit.CodeNoSubscription,
			"You have no subscription to resume.")
	}
	sub, err := Resumable(rows, h.now())
	if err != nil {
		return err
	}
	log := httpkit.Logger(ctx).With("user_id", user.ID, "subscription_id", sub.ID)
	// Only the user's cancel is undone: cancel_at_period_end=false, which
	// also clears the cancel_at Stripe set to the period end with it.
	params := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(false)}
	params.Context = ctx
	params.SetIdempotencyKey("resume-subscription:" + sub.ID + ":" + auth.NewUUID())
	sent := h.now()
	updated, err := h.subs.Update(sub.ID, params)
	received := h.now()
	if err != nil {
		return stripeclient.Error(ctx, "resume subscription", err)
	}
	updated, sent, received = h.restoreMerchantEnd(ctx, log, updated, sent, received)
	if updated.LastResponse == nil || len(updated.LastResponse.RawJSON) == 0 {
		return httpkit.Internal(errors.New("stripe answered without a body"))
	}
	// A lower bound of Stripe's read: an answer no newer than a stored
	// state of the same second or two (an event of that moment, or the
	// cancel just before) is read again after the webhook's bounded wait
	// (stripesync.ApplyOwnWrite); one that still does not apply, or a
	// stored state further ahead, is left to the webhook event of this
	// change.
	at := stripeclient.ReadTime(updated.LastResponse.Header, sent, received)
	applied, err := h.apply.ApplyOwnWrite(ctx, updated.LastResponse.RawJSON, at, stripeclient.ReadBack(h.subs, h.now))
	if err != nil {
		return store.HTTPError(err)
	}
	if !applied.SubscriptionStored() {
		log.InfoContext(ctx, "resume: Stripe's answer not applied over a stored state as new; its webhook event applies the change",
			"result", applied.Subscription, "state_at", at)
	}
	log.InfoContext(ctx, "subscription resumed")
	res, err := checksub.Compute(ctx, h.state, h.catalog, user.ID, h.now())
	if err != nil {
		return err
	}
	httpkit.WriteJSON(w, http.StatusOK, res)
	return nil
}
