package changeplan

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/auth"
	"billing/shared/httpkit"
	"billing/shared/store"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// PaymentFailed is the 402 body of an upgrade whose payment did not go
// through: the old plan stays, and the user pays the invoice at
// HostedInvoiceURL (Stripe's page, which also handles 3-D Secure); the new
// plan applies when it is paid.
type PaymentFailed struct {
	Error            string `json:"error"`
	Message          string `json:"message"`
	InvoiceID        string `json:"invoiceId"`
	HostedInvoiceURL string `json:"hostedInvoiceUrl"`
}

// change makes c in Stripe, as of the proration date pd, and applies
// Stripe's answers. It reports true when it has written a 402 (the
// upgrade's payment failed).
func (h *handler) change(ctx context.Context, w http.ResponseWriter, c change, pd time.Time) (bool, error) {
	log := httpkit.Logger(ctx)
	switch {
	case c.kind == kindCancelScheduled:
		if err := h.release(ctx, c); err != nil {
			return false, err
		}
		log.InfoContext(ctx, "change-plan: scheduled downgrade removed", "schedule_id", c.schedule.ID)
		return false, nil
	case c.effective == EffectivePeriodEnd:
		id, err := h.scheduleDowngrade(ctx, c)
		if err != nil {
			return false, err
		}
		log.InfoContext(ctx, "change-plan: downgrade scheduled at the period end", "schedule_id", id,
			"at", time.Unix(c.stripeSub.CurrentPeriodEnd, 0).UTC())
		return false, nil
	}
	// At once: an upgrade, or a downgrade the catalog makes immediate. A
	// schedule would move the subscription back at its next phase.
	if c.schedule != nil {
		if err := h.release(ctx, c); err != nil {
			return false, err
		}
	}
	params := &stripe.SubscriptionParams{
		Items: []*stripe.SubscriptionItemsParams{
			{ID: stripe.String(c.item.ID), Price: stripe.String(c.toPrice)},
		},
		ProrationBehavior: stripe.String(c.prorationBehavior()),
		ProrationDate:     stripe.Int64(pd.Unix()),
	}
	if c.kind == kindUpgrade {
		// A failed payment keeps the old plan (pending_update).
		params.PaymentBehavior = stripe.String("pending_if_incomplete")
	}
	params.Context = ctx
	params.AddExpand("latest_invoice")
	// The same change of the same subscription as of the same instant has
	// one key: a retry (of the client or of stripe-go) cannot charge twice.
	params.SetIdempotencyKey("change-plan:" + c.sub.ID + ":" + c.toPrice + ":" + strconv.FormatInt(pd.Unix(), 10))
	sent := h.now()
	updated, err := h.stripe.Subscriptions.Update(c.sub.ID, params)
	received := h.now()
	if err != nil {
		return false, stripeclient.Error(ctx, "change subscription plan", err)
	}
	if stripeclient.Replayed(updated.LastResponse) {
		if updated, sent, received, err = h.afterReplay(ctx, c); err != nil {
			return false, err
		}
	}
	if err := h.applySubscription(ctx, updated, sent, received); err != nil {
		return false, err
	}
	if updated.PendingUpdate != nil {
		body := PaymentFailed{Error: CodePaymentFailed,
			Message: "The payment for the new plan did not go through, so your plan has not changed. Pay the invoice to switch."}
		if inv := updated.LatestInvoice; inv != nil {
			body.InvoiceID, body.HostedInvoiceURL = inv.ID, inv.HostedInvoiceURL
		}
		log.InfoContext(ctx, "change-plan: upgrade waits for its payment", "invoice_id", body.InvoiceID)
		httpkit.WriteJSON(w, http.StatusPaymentRequired, body)
		return true, nil
	}
	log.InfoContext(ctx, "change-plan: plan changed", "kind", c.kind, "proration_date", pd.Unix())
	return false, nil
}

// afterReplay reads the subscription again after Stripe answered the
// change with the saved answer of its idempotency key: that answer is the
// subscription as it was when the key was first used (a retry of this
// very change, or the same request sent again after other changes), not as
// it is now, so it is never stored. The fresh read is what is stored and
// answered; when it is not on the price asked for and no upgrade waits for
// its payment, the change was undone since, and the answer is 409
// preview_expired (preview again, with a new proration date).
func (h *handler) afterReplay(ctx context.Context, c change) (*stripe.Subscription, time.Time, time.Time, error) {
	log := httpkit.Logger(ctx)
	params := &stripe.SubscriptionParams{}
	params.Context = ctx
	params.AddExpand("latest_invoice")
	sent := h.now()
	fresh, err := h.stripe.Subscriptions.Get(c.sub.ID, params)
	received := h.now()
	if err != nil {
		return nil, sent, received, stripeclient.Error(ctx, "retrieve subscription", err)
	}
	if fresh.PendingUpdate != nil || hasPrice(fresh, c.toPrice) {
		log.InfoContext(ctx, "change-plan: Stripe replayed this change's answer; the subscription is read again")
		return fresh, sent, received, nil
	}
	log.WarnContext(ctx, "change-plan: Stripe replayed an earlier answer and the subscription is no longer on that plan; preview again")
	if err := h.applySubscription(ctx, fresh, sent, received); err != nil {
		return nil, sent, received, err
	}
	return nil, sent, received, httpkit.NewError(http.StatusConflict, CodePreviewExpired,
		"Your subscription changed since this price preview; preview the change again.")
}

// hasPrice reports whether one of the subscription's items has the price.
func hasPrice(s *stripe.Subscription, price string) bool {
	if s.Items == nil {
		return false
	}
	for _, it := range s.Items.Data {
		if it.Price != nil && it.Price.ID == price {
			return true
		}
	}
	return false
}

// scheduleDowngrade puts the subscription on a schedule (created from it
// when it has none) of two phases: the current price until the period
// end, then the new price, after which the schedule releases the
// subscription. An existing schedule's later phases are replaced.
func (h *handler) scheduleDowngrade(ctx context.Context, c change) (string, error) {
	sc := c.schedule
	if sc == nil {
		params := &stripe.SubscriptionScheduleParams{FromSubscription: stripe.String(c.sub.ID)}
		params.Context = ctx
		// A fresh key: a subscription takes one schedule, so a repeat
		// fails instead of making a second one, and a schedule released
		// earlier in the period is never replayed.
		params.SetIdempotencyKey("change-plan:schedule:" + c.sub.ID + ":" + auth.NewUUID())
		created, err := h.stripe.Schedules.New(params)
		if err != nil {
			return "", stripeclient.Error(ctx, "create subscription schedule", err)
		}
		sc = created
	}
	start := c.stripeSub.CurrentPeriodStart
	if sc.CurrentPhase != nil && sc.CurrentPhase.StartDate > 0 {
		start = sc.CurrentPhase.StartDate
	}
	end := c.stripeSub.CurrentPeriodEnd
	qty := max(c.item.Quantity, 1)
	none := string(stripe.SubscriptionSchedulePhaseProrationBehaviorNone)
	params := &stripe.SubscriptionScheduleParams{
		EndBehavior: stripe.String(string(stripe.SubscriptionScheduleEndBehaviorRelease)),
		Phases: []*stripe.SubscriptionSchedulePhaseParams{
			{
				Items:             []*stripe.SubscriptionSchedulePhaseItemParams{{Price: stripe.String(c.fromPrice), Quantity: stripe.Int64(qty)}},
				StartDate:         stripe.Int64(start),
				EndDate:           stripe.Int64(end),
				ProrationBehavior: stripe.String(none),
			},
			{
				Items:             []*stripe.SubscriptionSchedulePhaseItemParams{{Price: stripe.String(c.toPrice), Quantity: stripe.Int64(qty)}},
				Iterations:        stripe.Int64(1),
				ProrationBehavior: stripe.String(none),
			},
		},
	}
	if c.stripeSub.Status == stripe.SubscriptionStatusTrialing && c.stripeSub.TrialEnd > 0 {
		// The current phase keeps the trial it has.
		params.Phases[0].TrialEnd = stripe.Int64(c.stripeSub.TrialEnd)
	}
	params.Context = ctx
	// Setting the phases is declarative, so a repeat is harmless; a fresh
	// key (stripe-go's own retries reuse it) never replays an older set.
	params.SetIdempotencyKey("change-plan:schedule-phases:" + sc.ID + ":" + auth.NewUUID())
	sent := h.now()
	updated, err := h.stripe.Schedules.Update(sc.ID, params)
	received := h.now()
	if err != nil {
		return "", stripeclient.Error(ctx, "schedule downgrade", err)
	}
	return sc.ID, h.applySchedule(ctx, updated.LastResponse, sent, received)
}

// release ends the subscription's schedule, keeping the subscription as it
// is now (and any cancel date the schedule had set).
func (h *handler) release(ctx context.Context, c change) error {
	params := &stripe.SubscriptionScheduleReleaseParams{PreserveCancelDate: stripe.Bool(true)}
	params.Context = ctx
	params.SetIdempotencyKey("change-plan:release:" + c.schedule.ID)
	sent := h.now()
	released, err := h.stripe.Schedules.Release(c.schedule.ID, params)
	received := h.now()
	if err != nil {
		return stripeclient.Error(ctx, "release subscription schedule", err)
	}
	return h.applySchedule(ctx, released.LastResponse, sent, received)
}

// applySubscription stores Stripe's answer through the webhook's SQL path,
// stamped with a lower bound of Stripe's read. An answer no newer than a
// stored state of the same second or two (the event of the user's
// previous change, a resume a moment ago) is read again after the
// webhook's bounded wait (stripesync.ApplyOwnWrite, as cancel and resume
// do), so that the 200 shows the new plan; one that still does not apply,
// or a stored state further ahead, is left to the webhook event of this
// change.
func (h *handler) applySubscription(ctx context.Context, s *stripe.Subscription, sent, received time.Time) error {
	if s.LastResponse == nil || len(s.LastResponse.RawJSON) == 0 {
		return httpkit.Internal(errors.New("stripe answered without a body"))
	}
	at := stripeclient.ReadTime(s.LastResponse.Header, sent, received)
	res, err := h.apply.ApplyOwnWrite(ctx, s.LastResponse.RawJSON, at, stripeclient.ReadBack(h.stripe.Subscriptions, h.now))
	if err != nil {
		return store.HTTPError(err)
	}
	if !res.SubscriptionStored() {
		httpkit.Logger(ctx).InfoContext(ctx, "change-plan: Stripe's answer not applied over a stored state as new; its webhook event applies the change",
			"result", res.Subscription, "state_at", at)
	}
	return nil
}

// applySchedule stores a schedule Stripe answered with, like
// applySubscription.
func (h *handler) applySchedule(ctx context.Context, r *stripe.APIResponse, sent, received time.Time) error {
	if r == nil || len(r.RawJSON) == 0 {
		return httpkit.Internal(errors.New("stripe answered without a body"))
	}
	at := stripeclient.ReadTime(r.Header, sent, received)
	res, err := h.apply.ApplySchedule(ctx, nil, nil, r.RawJSON, at, stripesync.SourceAPI)
	if err != nil {
		return store.HTTPError(err)
	}
	if res.Schedule != "applied" {
		httpkit.Logger(ctx).InfoContext(ctx, "change-plan: Stripe's schedule answer not applied over a stored state as new; its webhook event applies it",
			"result", res.Schedule, "state_at", at)
	}
	return nil
}
