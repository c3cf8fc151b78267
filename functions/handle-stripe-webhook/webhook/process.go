package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"billing/shared/httpkit"
	"billing/shared/stripesync"
)

// The event types billing acts on; every other type is recorded as
// 'ignored' and answered 200.
const (
	TypeCheckoutCompleted       = "checkout.session.completed"
	TypeSubscriptionCreated     = "customer.subscription.created"
	TypeSubscriptionUpdated     = "customer.subscription.updated"
	TypeSubscriptionDeleted     = "customer.subscription.deleted"
	TypeSubscriptionPaused      = "customer.subscription.paused"
	TypeSubscriptionResumed     = "customer.subscription.resumed"
	TypeSubscriptionTrialEnding = "customer.subscription.trial_will_end"
	TypeInvoicePaid             = "invoice.paid"
	TypeInvoicePaymentSucceeded = "invoice.payment_succeeded"
	TypeInvoicePaymentFailed    = "invoice.payment_failed"
	TypeInvoiceActionRequired   = "invoice.payment_action_required"
	TypeInvoiceVoided           = "invoice.voided"
)

// HandledTypes lists the event types to enable on the Stripe endpoint.
var HandledTypes = []string{
	TypeCheckoutCompleted,
	TypeSubscriptionCreated, TypeSubscriptionUpdated, TypeSubscriptionDeleted,
	TypeSubscriptionPaused, TypeSubscriptionResumed, TypeSubscriptionTrialEnding,
	TypeInvoicePaid, TypeInvoicePaymentSucceeded, TypeInvoicePaymentFailed, TypeInvoiceActionRequired,
	TypeInvoiceVoided, TypeCustomerDeleted,
	TypePendingUpdateApplied, TypePendingUpdateExpired,
	TypeScheduleCreated, TypeScheduleUpdated, TypeScheduleReleased,
	TypeScheduleCanceled, TypeScheduleCompleted, TypeScheduleAborted,
}

// process records and applies one verified event of the configured mode.
func (h *handler) process(ctx context.Context, ev stripesync.Event, body []byte) (stripesync.ApplyResult, error) {
	payload := json.RawMessage(body)
	switch ev.Type {
	case TypeSubscriptionCreated, TypeSubscriptionUpdated, TypeSubscriptionDeleted,
		TypeSubscriptionPaused, TypeSubscriptionResumed, TypeSubscriptionTrialEnding,
		TypePendingUpdateApplied, TypePendingUpdateExpired:
		return h.subscriptionEvent(ctx, ev, payload)
	case TypeScheduleCreated, TypeScheduleUpdated, TypeScheduleReleased,
		TypeScheduleCanceled, TypeScheduleCompleted, TypeScheduleAborted:
		return h.scheduleEvent(ctx, ev, payload)
	case TypeCheckoutCompleted:
		cs, err := stripesync.ParseCheckoutSession(ev.Object)
		if err != nil {
			return stripesync.ApplyResult{}, fmt.Errorf("%w: %w", errBadObject, err)
		}
		if cs.Mode != "subscription" {
			return h.o.Syncer.RecordIgnored(ctx, ev, payload)
		}
		fx := stripesync.Effects{CustomerID: cs.CustomerID, RequireSubscription: cs.SubscriptionID}
		if user := cs.UserID(); user != "" && cs.CustomerID != "" {
			fx.Link = &stripesync.Link{UserID: user, CustomerID: cs.CustomerID}
		} else {
			httpkit.Logger(ctx).ErrorContext(ctx, "webhook: checkout session without a user ID (client_reference_id or metadata.supabase_uid); the customer stays unlinked",
				"session_id", cs.ID, "customer_id", cs.CustomerID)
		}
		return h.applyFetching(ctx, ev, payload, fx)
	case TypeInvoicePaid, TypeInvoicePaymentSucceeded, TypeInvoicePaymentFailed, TypeInvoiceActionRequired:
		inv, err := stripesync.ParseInvoice(ev.Object)
		if err != nil {
			return stripesync.ApplyResult{}, fmt.Errorf("%w: %w", errBadObject, err)
		}
		fx := stripesync.Effects{CustomerID: inv.CustomerID, RequireSubscription: inv.SubscriptionID}
		switch ev.Type {
		case TypeInvoicePaymentFailed:
			fx.Emails = append(fx.Emails, h.o.Syncer.PaymentFailedEmail(inv))
		case TypeInvoicePaid, TypeInvoicePaymentSucceeded:
			fx.PaidInvoice = inv.ID
		}
		return h.applyFetching(ctx, ev, payload, fx)
	case TypeInvoiceVoided:
		// Nothing is owed on a void invoice: its payment_failed email, if
		// not sent yet, is superseded. The subscription is not needed.
		inv, err := stripesync.ParseInvoice(ev.Object)
		if err != nil {
			return stripesync.ApplyResult{}, fmt.Errorf("%w: %w", errBadObject, err)
		}
		return h.applyFetching(ctx, ev, payload, stripesync.Effects{CustomerID: inv.CustomerID, PaidInvoice: inv.ID})
	case TypeCustomerDeleted:
		return h.customerDeleted(ctx, ev, payload)
	}
	return h.o.Syncer.RecordIgnored(ctx, ev, payload)
}

// subscriptionEvent applies the subscription in the event. A payload that
// cannot be read is fetched from Stripe instead.
func (h *handler) subscriptionEvent(ctx context.Context, ev stripesync.Event, payload json.RawMessage) (stripesync.ApplyResult, error) {
	st, err := h.o.Syncer.ResolveEvent(ev)
	if err == nil {
		return h.applyFetching(ctx, ev, payload, h.o.Syncer.SubscriptionEffects(st))
	}
	id := idOf(ev.Object)
	if id == "" {
		return stripesync.ApplyResult{}, fmt.Errorf("%w: %w", errBadObject, err)
	}
	httpkit.Logger(ctx).WarnContext(ctx, "webhook: subscription payload unreadable; fetching it",
		"subscription_id", id, "cause", err.Error())
	fetched, err := h.fetch(ctx, id)
	if err != nil {
		return stripesync.ApplyResult{}, err
	}
	return h.applyFetched(ctx, ev, payload, stripesync.Effects{CustomerID: fetched.CustomerID}, fetched)
}

// applyFetching makes the SQL call; when it answers needs_fetch it fetches
// the subscription from Stripe and calls once more with it (applyFetched).
func (h *handler) applyFetching(ctx context.Context, ev stripesync.Event, payload json.RawMessage, fx stripesync.Effects) (stripesync.ApplyResult, error) {
	res, err := h.o.Syncer.Apply(ctx, &ev, payload, fx)
	if err != nil || res.NeedsFetch == "" {
		return res, err
	}
	id := res.NeedsFetch
	httpkit.Logger(ctx).InfoContext(ctx, "webhook: fetching the subscription to order the event", "subscription_id", id)
	fetched, err := h.fetch(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		httpkit.Logger(ctx).WarnContext(ctx, "webhook: subscription not found in Stripe", "subscription_id", id)
		if fx.Subscription != nil && fx.Subscription.ID == id {
			tie := *fx.Subscription
			tie.Source = stripesync.SourceEventTie
			fx.Subscription = &tie
		}
		fx.RequireSubscription = ""
		return h.apply(ctx, ev, payload, fx)
	case err != nil:
		return stripesync.ApplyResult{}, err
	}
	return h.applyFetched(ctx, ev, payload, fx, fetched)
}

// MaxRefetchWait bounds the wait before the second fetch of applyFetched
// (stripesync.MaxRefetchWait, the rule cancel and resume share).
const MaxRefetchWait = stripesync.MaxRefetchWait

// applyFetched makes the event's final SQL call with a fetched state in
// place of fx's subscription (and the emails of both). A fetched state is
// stamped with a lower bound of Stripe's read and applies only when later
// than the stored state; when it is not (the stored state is from the same
// second, or a concurrent delivery stored a read as recent), the database
// answers needs_fetch again and writes nothing. Then the subscription is
// fetched once more, after waiting until a new read's lower bound can be
// later than the stored state (see stripesync.RefetchWait), and if that does not apply
// either the event fails with 503, recorded as failed and not processed,
// for Stripe to deliver it again.
func (h *handler) applyFetched(ctx context.Context, ev stripesync.Event, payload json.RawMessage, fx stripesync.Effects, fetched *stripesync.State) (stripesync.ApplyResult, error) {
	emails := fx.Emails
	for attempt := 1; ; attempt++ {
		fx.Subscription = fetched
		fx.Emails = mergeEmails(append([]stripesync.Email(nil), emails...), h.o.Syncer.SubscriptionEmails(*fetched))
		res, err := h.o.Syncer.Apply(ctx, &ev, payload, fx)
		if err != nil || res.NeedsFetch == "" {
			return res, err
		}
		if res.NeedsFetch != fetched.ID {
			return res, fmt.Errorf("webhook: billing_apply_event asked to fetch %s again", res.NeedsFetch)
		}
		if attempt == 2 {
			return res, httpkit.Unavailable(fmt.Errorf("webhook: Stripe's answers for %s (read from %s) are not later than the stored state (%s); Stripe will deliver the event again",
				fetched.ID, fetched.StateAt.Format(time.RFC3339), formatTime(res.StateAt)))
		}
		wait := stripesync.RefetchWait(fetched.StateAt, res.StateAt)
		httpkit.Logger(ctx).InfoContext(ctx, "webhook: fetched state not later than the stored one; fetching again",
			"subscription_id", fetched.ID, "read_from", fetched.StateAt, "stored_state_at", res.StateAt, "wait", wait.String())
		if err := sleep(ctx, wait); err != nil {
			return stripesync.ApplyResult{}, httpkit.Unavailable(fmt.Errorf("webhook: waiting to fetch %s again: %w", fetched.ID, err))
		}
		if fetched, err = h.fetch(ctx, fetched.ID); err != nil {
			return stripesync.ApplyResult{}, err
		}
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func formatTime(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}

// apply is the final SQL call of an event: it must not ask to fetch again.
func (h *handler) apply(ctx context.Context, ev stripesync.Event, payload json.RawMessage, fx stripesync.Effects) (stripesync.ApplyResult, error) {
	res, err := h.o.Syncer.Apply(ctx, &ev, payload, fx)
	if err == nil && res.NeedsFetch != "" {
		return res, fmt.Errorf("webhook: billing_apply_event asked to fetch %s again", res.NeedsFetch)
	}
	return res, err
}

// fetch reads a subscription from Stripe and resolves it, stamped with a
// lower bound of Stripe's read.
func (h *handler) fetch(ctx context.Context, id string) (*stripesync.State, error) {
	if h.o.Fetcher == nil {
		return nil, errors.New("webhook: no Stripe fetcher configured")
	}
	raw, at, err := h.o.Fetcher.FetchSubscription(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := h.o.Syncer.Resolve(raw, at, stripesync.SourceFetch)
	if err != nil {
		return nil, err
	}
	if st.ID != id {
		return nil, fmt.Errorf("webhook: asked Stripe for %s, got %s", id, st.ID)
	}
	return &st, nil
}

// mergeEmails appends the emails of b whose dedupe keys a lacks.
func mergeEmails(a, b []stripesync.Email) []stripesync.Email {
	seen := make(map[string]bool, len(a))
	for _, e := range a {
		seen[e.DedupeKey] = true
	}
	for _, e := range b {
		if !seen[e.DedupeKey] {
			a = append(a, e)
			seen[e.DedupeKey] = true
		}
	}
	return a
}

// idOf returns the "id" of a JSON object, or "".
func idOf(raw []byte) string {
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	return o.ID
}
