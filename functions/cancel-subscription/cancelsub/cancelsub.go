// Package cancelsub is the cancel-subscription function: it schedules the
// caller's current subscription to cancel at the end of its paid period
// (cancel_at_period_end=true, with Stripe's cancellation_details when the
// user gave a reason), so access stays until then. A cancel_at later than
// the period end (a schedule, an operator) is replaced: the cancel always
// ends the subscription at the current period's end.
//
// The subscription is always the caller's, read from the database; an ID in
// the body is ignored. Stripe's answer is applied to the database at once
// through stripesync (billing_apply_event, the SQL path the webhook uses),
// so the answer, the check-subscription body, already shows
// cancelAtPeriodEnd and accessUntil. Cancelling twice is not an error.
package cancelsub

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
const Name = "cancel-subscription"

// MetadataMerchantCancelAt is the subscription metadata key where a cancel
// keeps the merchant's cancel_at (Unix seconds) that it replaced with the
// period end; resume-subscription restores it.
const MetadataMerchantCancelAt = "billing_merchant_cancel_at"

// MaxCommentLength is the longest comment accepted, in characters.
const MaxCommentLength = 500

// Reasons are the values of Stripe's cancellation_details.feedback.
var Reasons = []string{
	"customer_service", "low_quality", "missing_features", "other",
	"switched_service", "too_complex", "too_expensive", "unused",
}

// Spec describes the function for function.Main and the local server.
var Spec = function.Spec{
	Name:  Name,
	Needs: config.NeedDatabase | config.NeedAuth | config.NeedStripe | config.NeedPlans | config.NeedSite,
	Build: func(_ context.Context, d *function.Deps) (http.Handler, error) {
		sc := stripeclient.New(d.Config.StripeSecretKey, d.Config.StripeAPIBase, nil, d.Log)
		ap := &stripesync.Syncer{Store: d.Store, Catalog: d.Catalog}
		return NewWithSchedules(d.Verifier, d.Store, sc.Subscriptions, sc.SubscriptionSchedules, ap, d.Catalog, time.Now), nil
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

// New returns the cancel-subscription handler.
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

	schedules ScheduleReleaser // nil: a subscription on a schedule is not released (schedule.go)
}

// Params is the request body; both fields are optional. Unknown fields
// (such as a subscriptionId or userId older clients send) are ignored.
type Params struct {
	Reason  string `json:"reason"`
	Comment string `json:"comment"`
}

func (p *Params) validate() error {
	p.Reason = strings.TrimSpace(p.Reason)
	p.Comment = strings.TrimSpace(p.Comment)
	if p.Reason != "" && !slices.Contains(Reasons, p.Reason) {
		return httpkit.BadRequest("Field \"reason\" must be one of %s (got %q).",
			strings.Join(Reasons, ", "), truncate(p.Reason, 64))
	}
	if n := utf8.RuneCountInString(p.Comment); n > MaxCommentLength {
		return httpkit.BadRequest("Field \"comment\" is %d characters long; at most %d are allowed.", n, MaxCommentLength)
	}
	if !utf8.ValidString(p.Comment) {
		return httpkit.BadRequest("Field \"comment\" is not valid UTF-8.")
	}
	return nil
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	var p Params
	user, err := function.DecodeUserPOST(w, r, h.auth, &p)
	if err != nil {
		return err
	}
	if err := p.validate(); err != nil {
		return err
	}
	ctx := r.Context()
	st, err := h.state.UserState(ctx, user.ID)
	if err != nil {
		return store.HTTPError(err)
	}
	sub, ok := Current(st.InMode(h.catalog.Mode), h.now())
	if !ok {
		return httpkit.NewError(http.StatusNotFound, httpkit.CodeNoSubscription,
			"You have no subscription to cancel.")
	}
	log := httpkit.Logger(ctx).With("user_id", user.ID, "subscription_id", sub.ID)
	if EndsByPeriodEnd(sub) {
		log.InfoContext(ctx, "cancel: already scheduled")
		return h.answer(w, r, user.ID)
	}
	params := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)}
	if sub.CancelAt != nil {
		// Stripe replaces cancel_at with the period end; keep the
		// merchant's date for a resume to restore.
		log.InfoContext(ctx, "cancel: a later cancel_at is replaced by the period end", "cancel_at", sub.CancelAt)
		params.AddMetadata(MetadataMerchantCancelAt, strconv.FormatInt(sub.CancelAt.Unix(), 10))
	}
	params.Context = ctx
	if p.Reason != "" || p.Comment != "" {
		params.CancellationDetails = &stripe.SubscriptionCancellationDetailsParams{}
		if p.Reason != "" {
			params.CancellationDetails.Feedback = stripe.String(p.Reason)
		}
		if p.Comment != "" {
			params.CancellationDetails.Comment = stripe.String(p.Comment)
		}
	}
	if err := h.releaseSchedule(httpkit.WithLogger(ctx, log), sub); err != nil {
		return err
	}
	params.SetIdempotencyKey("cancel-subscription:" + sub.ID + ":" + auth.NewUUID())
	sent := h.now()
	updated, err := h.subs.Update(sub.ID, params)
	received := h.now()
	if err != nil {
		return stripeclient.Error(ctx, "cancel subscription", err)
	}
	if err := h.applyAnswer(httpkit.WithLogger(ctx, log), updated, sent, received); err != nil {
		return err
	}
	if !updated.CancelAtPeriodEnd && (updated.CancelAt == 0 || updated.CancelAt > updated.CurrentPeriodEnd) {
		log.ErrorContext(ctx, "cancel: Stripe's answer does not end the subscription at the period end",
			"cancel_at", updated.CancelAt, "current_period_end", updated.CurrentPeriodEnd)
		return httpkit.NewError(http.StatusBadGateway, httpkit.CodeStripeError,
			"The cancellation could not be scheduled for the end of the period; please contact support.")
	}
	log.InfoContext(ctx, "cancel scheduled", "reason", p.Reason)
	return h.answer(w, r, user.ID)
}

// applyAnswer stores Stripe's answer through the webhook's SQL path,
// stamped with a lower bound of Stripe's read (stripeclient.ReadTime of the
// exchange between sent and received). An answer no newer than a stored
// state of the same second or two (a same-second event, or our own change
// a moment ago) is read again after the webhook's bounded wait
// (stripesync.ApplyOwnWrite, at most about 3 s); one that still does not
// apply, or a stored state further ahead, is left to the webhook event of
// this change, and logged only.
func (h *handler) applyAnswer(ctx context.Context, s *stripe.Subscription, sent, received time.Time) error {
	if s.LastResponse == nil || len(s.LastResponse.RawJSON) == 0 {
		return httpkit.Internal(errors.New("stripe answered without a body"))
	}
	at := stripeclient.ReadTime(s.LastResponse.Header, sent, received)
	res, err := h.apply.ApplyOwnWrite(ctx, s.LastResponse.RawJSON, at, stripeclient.ReadBack(h.subs, h.now))
	if err != nil {
		return store.HTTPError(err)
	}
	if !res.SubscriptionStored() {
		httpkit.Logger(ctx).InfoContext(ctx, "cancel: Stripe's answer not applied over a stored state as new; its webhook event applies the change",
			"result", res.Subscription, "state_at", at)
	}
	return nil
}

// answer writes the check-subscription body of the user.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, userID string) error {
	res, err := checksub.Compute(r.Context(), h.state, h.catalog, userID, h.now())
	if err != nil {
		return err
	}
	httpkit.WriteJSON(w, http.StatusOK, res)
	return nil
}

// EndsByPeriodEnd reports whether the subscription already ends by the end
// of its current period: cancel_at_period_end, or a cancel_at at or before
// the period end. A cancel_at after it (a schedule, an operator) would
// charge the user at the renewal, so a cancel replaces it.
func EndsByPeriodEnd(sub store.SubscriptionRow) bool {
	if sub.CancelAtPeriodEnd {
		return true
	}
	return sub.CancelAt != nil && sub.CurrentPeriodEnd != nil && !sub.CancelAt.After(*sub.CurrentPeriodEnd)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// live are the statuses of a subscription that can still be cancelled.
var live = map[string]bool{"active": true, "trialing": true, "past_due": true}

// Current returns the caller's subscription that a cancel acts on: of the
// rows billing_user_state returned (the caller's own, newest first), the
// newest active, trialing or past_due one that has not reached a scheduled
// end; else the newest such one whose scheduled end has passed (already
// cancelled, waiting for Stripe's deleted event). ok is false when the
// caller has none.
func Current(rows []store.SubscriptionRow, now time.Time) (store.SubscriptionRow, bool) {
	var ended *store.SubscriptionRow
	for i, r := range rows {
		if !live[r.Status] {
			continue
		}
		if end, scheduled := r.Access().ScheduledEnd(); scheduled && !now.Before(end) {
			if ended == nil {
				ended = &rows[i]
			}
			continue
		}
		return r, true
	}
	if ended != nil {
		return *ended, true
	}
	return store.SubscriptionRow{}, false
}
