package stripesync

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"billing/shared/httpkit"
	"billing/shared/plans"
	"billing/shared/store"
)

// Sources of a subscription state: where the object came from decides how
// it is ordered against the stored one (see billing_apply_event).
const (
	// SourceEvent is a webhook event's payload, stamped with event.created.
	SourceEvent = "event"
	// SourceFetch is an object fetched from Stripe because an event could
	// not be ordered; stamped with a lower bound of Stripe's read
	// (stripeclient.ReadTime). It applies only over an older stored state;
	// otherwise the answer is NeedsFetch again and nothing is written.
	SourceFetch = "fetch"
	// SourceAPI is Stripe's answer to our own API call (cancel, resume,
	// reconcile); stamped like SourceFetch. It applies only over an older
	// stored state; otherwise it is "stale".
	SourceAPI = "api"
	// SourceEventTie is an event's payload applied on a same-second tie
	// when Stripe could not be asked (the subscription is gone there).
	SourceEventTie = "event_tie"
)

// UnknownPriceError is a subscription whose price is not in the catalog of
// the current mode, in a state that would grant access (WouldGrant), and
// not stored with a plan of the catalog: billing_apply_event writes nothing.
// The catalog must be fixed, and Stripe's retry then applies the event. (An
// unknown price in any other state applies, keeping the stored plan.)
type UnknownPriceError struct{ PriceID, SubscriptionID string }

func (e *UnknownPriceError) Error() string {
	return fmt.Sprintf("stripesync: unknown price %q on subscription %s: add it to the plan catalog", e.PriceID, e.SubscriptionID)
}

// Syncer applies Stripe objects to the database through billing_apply_event.
type Syncer struct {
	Store   *store.Store
	Catalog *plans.Catalog
	// Locale of the emails enqueued ("en" or "ja"); "" means "en".
	Locale string
	// PortalPath is the app page that opens the billing portal, linked
	// from the payment-failed email; "" means "/account".
	PortalPath string

	once    sync.Once
	catalog json.RawMessage
}

// ApplyResult is billing_apply_event's answer.
type ApplyResult struct {
	// Duplicate: the event was already applied; nothing changed.
	Duplicate bool `json:"duplicate"`
	// NeedsFetch is the subscription to fetch from Stripe before the call
	// can be made again; nothing was written.
	NeedsFetch string `json:"needs_fetch"`
	// StateAt is, with NeedsFetch, the stored state's time of that
	// subscription (nil when it is not stored).
	StateAt *time.Time `json:"state_at"`
	// Status is "processed", "ignored", "duplicate", "needs_fetch" or
	// "unknown_price" (Apply returns an *UnknownPriceError with it).
	Status string `json:"status"`
	// Subscription is "applied", "stale" (older than the stored state) or
	// "none"; ApplyOwnWrite also answers "current" (the stored state is
	// already the answer's).
	Subscription string `json:"subscription"`
	// UserIDs are the users whose snapshot was recomputed.
	UserIDs []string `json:"user_ids"`
	// EmailIDs are the outbox rows written, to send after the commit.
	EmailIDs []int64 `json:"email_ids"`
	// Link is the outcome of a customer link: "linked", "already_linked",
	// "unknown_user", "user_has_other_customer", "customer_has_other_user", or "".
	Link string `json:"link"`
	// HeldEmails counts the emails of the customer waiting for its user.
	HeldEmails int `json:"held_emails"`
	// ConcurrentSubscriptions maps a user with more than one subscription
	// that grants access now to those subscriptions, best first (a second
	// live subscription: paid in two tabs, made in the Dashboard). Apply
	// logs it at ERROR; access takes the best one.
	ConcurrentSubscriptions map[string][]string `json:"concurrent_subscriptions"`
}

// SubscriptionStored reports whether what is stored of the subscription
// is now the applied object's state: "applied", or ApplyOwnWrite's
// "current".
func (r ApplyResult) SubscriptionStored() bool {
	return r.Subscription == "applied" || r.Subscription == "current"
}

// State is one subscription object ready to apply: parsed, its plan
// resolved, and stamped with Stripe's clock.
type State struct {
	Subscription
	// Plan is the catalog plan of the price; "" when UnknownPrice is set.
	Plan string
	// UnknownPrice is the object's price when the catalog knows none of its
	// prices: billing_apply_event then keeps the stored plan, or refuses
	// (*UnknownPriceError) a state that would grant access without one.
	UnknownPrice string
	Raw          json.RawMessage
	StateAt      time.Time
	Source       string

	// rawChecked: Raw is JSON the scanner has checked (Resolve and
	// ResolveEvent read it whole), so the apply document takes it as it is.
	rawChecked bool
}

// Link links a user to a Stripe customer (checkout.session.completed).
type Link struct {
	UserID     string `json:"user_id"`
	CustomerID string `json:"customer_id"`
}

// Email is one logical transactional email; DedupeKey makes it once.
type Email struct {
	Kind           string         `json:"kind"`
	DedupeKey      string         `json:"dedupe_key"`
	SubscriptionID string         `json:"subscription_id,omitempty"`
	CustomerID     string         `json:"customer_id,omitempty"`
	TemplateData   map[string]any `json:"template_data"`
}

// Effects is everything one event or API answer changes.
type Effects struct {
	// CustomerID serializes the call with the customer's other events.
	CustomerID string
	// Subscription is the state to apply, or nil.
	Subscription *State
	// RequireSubscription makes the call answer NeedsFetch when that
	// subscription is not stored yet (checkout and invoice events).
	RequireSubscription string
	// Link is the customer link of a checkout, or nil.
	Link *Link
	// PaidInvoice is the invoice an invoice.paid event says is paid, or an
	// invoice.voided event says is void: nothing is owed on it any more,
	// so a payment_failed email of it not sent yet is superseded.
	PaidInvoice string
	// Emails are the logical emails to enqueue.
	Emails []Email
}

// Resolve parses a subscription object, maps its price to a plan and
// returns it stamped with stateAt and source. When the catalog knows none
// of its prices, Plan is "" and UnknownPrice names the price: whether that
// is an error depends on what is stored, and billing_apply_event decides
// (Apply returns an *UnknownPriceError; WouldGrant tells in advance).
func (s *Syncer) Resolve(raw []byte, stateAt time.Time, source string) (State, error) {
	sub, err := ParseSubscription(raw)
	if err != nil {
		return State{}, err
	}
	return s.resolve(sub, raw, stateAt, source), nil
}

// ResolveEvent is Resolve of the event's object, stamped with its created
// time and SourceEvent, from what ParseEvent read of it (Event.Subscription).
func (s *Syncer) ResolveEvent(ev Event) (State, error) {
	sub, err := ev.Subscription()
	if err != nil {
		return State{}, err
	}
	return s.resolve(sub, ev.Object, ev.Created, SourceEvent), nil
}

func (s *Syncer) resolve(sub Subscription, raw []byte, stateAt time.Time, source string) State {
	st := State{Subscription: sub, Raw: json.RawMessage(raw), rawChecked: true,
		StateAt: stateAt.UTC().Truncate(time.Second), Source: source}
	for _, price := range sub.PriceIDs {
		if plan, ok := s.Catalog.PlanIDForPrice(price); ok {
			st.PriceID, st.Plan = price, plan
			return st
		}
	}
	st.UnknownPrice = sub.PriceID
	return st
}

// WouldGrant reports whether st's status grants access under cat (active
// or trialing, or past_due when the catalog's past_due_keeps_access is
// set): the states whose unknown price is an error when the subscription
// is not stored with a plan of the catalog.
func WouldGrant(st State, cat *plans.Catalog) bool {
	switch st.Status {
	case "active", "trialing":
		return true
	case "past_due":
		return cat.PastDueKeepsAccess
	}
	return false
}

// CheckUnknownPrice applies billing_apply_event's rule for an unknown
// price ahead of it, for a caller that reads the stored row (reconcile's
// dry run): st unchanged when its price is known; with an unknown price,
// st with the stored plan and price when storedPlan is a plan of the
// catalog and storedPrice is the object's price (grandfathered), or the
// state does not grant access (storedPlan "" and storedPrice "" when not
// stored: no plan); else an *UnknownPriceError (a new subscription, or a
// switch to a price the catalog does not list).
func CheckUnknownPrice(st State, cat *plans.Catalog, stored bool, storedPlan, storedPrice string) (State, error) {
	if st.UnknownPrice == "" {
		return st, nil
	}
	_, known := cat.Plan(storedPlan)
	if WouldGrant(st, cat) && !(stored && storedPlan != "" && known && storedPrice == st.UnknownPrice) {
		return st, &UnknownPriceError{PriceID: st.UnknownPrice, SubscriptionID: st.ID}
	}
	if stored {
		st.Plan, st.PriceID = storedPlan, storedPrice
	}
	return st, nil
}

// SubscriptionEffects is what a subscription state changes: the state, a
// link by metadata.supabase_uid (applied in SQL), and its emails.
func (s *Syncer) SubscriptionEffects(st State) Effects {
	return Effects{CustomerID: st.CustomerID, Subscription: &st, Emails: s.SubscriptionEmails(st)}
}

// ApplySubscription maps the price to a plan and calls the SQL apply
// function (an unknown price in a state that would grant access, on a
// subscription not stored with a known plan: *UnknownPriceError, nothing
// written); stateAt is the Stripe-clock time of the object (event.created
// for events; for API answers a lower bound of Stripe's read,
// stripeclient.ReadTime — never the local clock); source is "event",
// "api" or "fetch". The caller sends the result's EmailIDs after it
// returns.
func (s *Syncer) ApplySubscription(ctx context.Context, raw []byte, stateAt time.Time, source string) (ApplyResult, error) {
	st, err := s.Resolve(raw, stateAt, source)
	if err != nil {
		return ApplyResult{}, err
	}
	return s.Apply(ctx, nil, nil, s.SubscriptionEffects(st))
}

// ApplyAnswer applies Stripe's answer to one of our own API calls on a
// subscription (cancel, resume) like ApplySubscription with source "api",
// but leaves out the transactional emails the object calls for: those
// functions have no mail configuration, and the webhook event Stripe sends
// for the same change enqueues them and sends them at once (an email
// enqueued here but not sent would make the webhook's copy a duplicate and
// wait for the reconcile job's retry). stateAt is a lower bound of
// Stripe's read (stripeclient.ReadTime); an answer not later than the
// stored state is "stale" and not applied (the webhook event of the same
// change applies it).
//
// A failure means Stripe has already made the change and its webhook event
// will store it too; the caller answers with a 5xx (store.HTTPError) and
// may retry, which asks Stripe for the same change again.
func (s *Syncer) ApplyAnswer(ctx context.Context, raw []byte, stateAt time.Time) (ApplyResult, error) {
	st, err := s.Resolve(raw, stateAt, SourceAPI)
	if err != nil {
		return ApplyResult{}, err
	}
	fx := s.SubscriptionEffects(st)
	fx.Emails = nil
	return s.Apply(ctx, nil, nil, fx)
}

// Apply makes the one SQL call that records ev (nil for API answers; its
// body payload is kept as the audit log) and applies fx, in one
// transaction.
func (s *Syncer) Apply(ctx context.Context, ev *Event, payload json.RawMessage, fx Effects) (ApplyResult, error) {
	return s.apply(ctx, ev, payload, "processed", fx)
}

// RecordIgnored records an event of a type billing does not act on.
func (s *Syncer) RecordIgnored(ctx context.Context, ev Event, payload json.RawMessage) (ApplyResult, error) {
	return s.apply(ctx, &ev, payload, "ignored", Effects{})
}

func (s *Syncer) apply(ctx context.Context, ev *Event, payload json.RawMessage, status string, fx Effects) (ApplyResult, error) {
	doc, err := s.document(ev, payload, status, fx)
	if err != nil {
		return ApplyResult{}, err
	}
	var res ApplyResult
	if err := s.Store.Call(ctx, "billing_apply_event", []store.Arg{{Name: "p_event", Value: doc}}, &res); err != nil {
		return ApplyResult{}, err
	}
	log := httpkit.Logger(ctx)
	if st := fx.Subscription; st != nil && st.UnknownPrice != "" {
		if res.Status == "unknown_price" {
			return res, &UnknownPriceError{PriceID: st.UnknownPrice, SubscriptionID: st.ID}
		}
		if res.Status == "processed" {
			// Grandfathered (the row stays on a price the catalog no longer
			// lists), or a state that grants nothing: logged on every
			// event until the catalog lists the price (legacy_price_ids).
			log.ErrorContext(ctx, "stripesync: price not in the plan catalog; the subscription keeps its stored plan (none for a new one): list it in legacy_price_ids of its plan",
				"price_id", st.UnknownPrice, "subscription_id", st.ID, "status", st.Status, "subscription", res.Subscription)
		}
	}
	for user, subs := range res.ConcurrentSubscriptions {
		log.ErrorContext(ctx, "stripesync: a user has more than one subscription that grants access; the best one counts, refund or cancel the others",
			"user_id", user, "subscription_ids", subs)
	}
	return res, nil
}

// RecordFailure keeps a 'failed' row for ev with the error (never over a
// processed one), in its own call after the apply rolled back.
func (s *Syncer) RecordFailure(ctx context.Context, ev Event, payload json.RawMessage, cause error) error {
	if !json.Valid(payload) {
		payload = nil
	}
	payload = jsonbSafe(payload, true) // the caller's body is not changed
	return s.Store.Call(ctx, "billing_record_event_failure", []store.Arg{
		{Name: "p_event_id", Value: ev.ID}, {Name: "p_type", Value: ev.Type},
		{Name: "p_livemode", Value: ev.Livemode}, {Name: "p_created", Value: ev.Created},
		{Name: "p_payload", Value: payload}, {Name: "p_error", Value: cause.Error()},
	}, nil)
}
