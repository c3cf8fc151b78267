package stripesync

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event is the envelope of a Stripe event, read from any API version
// (events before 2018 have no api_version; older ones carry request as a
// string, newer ones as an object).
type Event struct {
	ID         string
	Type       string
	APIVersion string
	Livemode   bool
	Created    time.Time
	// Object is data.object, raw.
	Object json.RawMessage

	// sub is Object as ParseEvent read it as a subscription, if it could.
	sub *rawSubscription
	// body is the body ParseEvent read, and so checked as JSON.
	body []byte
}

// Subscription reads the event's object as a subscription, as
// ParseSubscription(ev.Object) does, from what ParseEvent read of it in
// its one pass when it could.
func (ev Event) Subscription() (Subscription, error) {
	if ev.sub != nil {
		return ev.sub.subscription()
	}
	return ParseSubscription(ev.Object)
}

// ParseEvent reads the envelope of an event body in one pass over the
// bytes (readEvent), which also checks that the whole body is valid JSON.
// It fails when the body is not a JSON object or lacks an id, a type,
// created or data.object. The event's Object is a slice of raw, not a copy.
func ParseEvent(raw []byte) (Event, error) {
	var r rawEvent
	if err := readEvent(raw, &r); err != nil {
		return Event{}, fmt.Errorf("stripesync: event: %w", err)
	}
	switch {
	case r.ID == "":
		return Event{}, fmt.Errorf("stripesync: event without an id")
	case r.Object != "" && r.Object != "event":
		return Event{}, fmt.Errorf("stripesync: object is a %q, not an event", r.Object)
	case r.Type == "":
		return Event{}, fmt.Errorf("stripesync: event %s without a type", r.ID)
	case r.Created.t == nil:
		return Event{}, fmt.Errorf("stripesync: event %s without created", r.ID)
	case !r.HasData || len(r.Data) == 0 || r.Data[0] != '{':
		return Event{}, fmt.Errorf("stripesync: event %s without data.object", r.ID)
	}
	return Event{ID: r.ID, Type: r.Type, APIVersion: r.APIVersion, Livemode: r.Livemode,
		Created: *r.Created.t, Object: json.RawMessage(r.Data), sub: r.Sub, body: raw}, nil
}

// Invoice is what billing reads of a Stripe invoice.
type Invoice struct {
	ID string
	// SubscriptionID is parent.subscription_details.subscription
	// (2025-03-31.basil and later), else the top-level subscription; ""
	// for an invoice outside a subscription.
	SubscriptionID     string
	CustomerID         string
	Status             string
	BillingReason      string
	AttemptCount       int64
	AmountDue          int64
	Currency           string
	NextPaymentAttempt *time.Time
	Livemode           bool
}

// ParseInvoice reads an invoice object of any API version.
func ParseInvoice(raw []byte) (Invoice, error) {
	var r struct {
		ID           string `json:"id"`
		Object       string `json:"object"`
		Subscription ref    `json:"subscription"`
		Parent       *struct {
			SubscriptionDetails *struct {
				Subscription ref `json:"subscription"`
			} `json:"subscription_details"`
		} `json:"parent"`
		Customer           ref    `json:"customer"`
		Status             string `json:"status"`
		BillingReason      string `json:"billing_reason"`
		AttemptCount       int64  `json:"attempt_count"`
		AmountDue          int64  `json:"amount_due"`
		Currency           string `json:"currency"`
		NextPaymentAttempt unix   `json:"next_payment_attempt"`
		Livemode           bool   `json:"livemode"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return Invoice{}, fmt.Errorf("stripesync: invoice: %w", err)
	}
	inv := Invoice{ID: r.ID, SubscriptionID: string(r.Subscription), CustomerID: string(r.Customer),
		Status: r.Status, BillingReason: r.BillingReason, AttemptCount: r.AttemptCount,
		AmountDue: r.AmountDue, Currency: r.Currency, NextPaymentAttempt: r.NextPaymentAttempt.t,
		Livemode: r.Livemode}
	if p := r.Parent; p != nil && p.SubscriptionDetails != nil && p.SubscriptionDetails.Subscription != "" {
		inv.SubscriptionID = string(p.SubscriptionDetails.Subscription)
	}
	if r.Object != "" && r.Object != "invoice" {
		return inv, fmt.Errorf("%w: object is a %q, not an invoice", ErrUnreadable, r.Object)
	}
	if inv.ID == "" {
		return inv, fmt.Errorf("%w: invoice without an id", ErrUnreadable)
	}
	return inv, nil
}

// CheckoutSession is what billing reads of a Stripe Checkout Session.
type CheckoutSession struct {
	ID                string
	Mode              string
	Status            string
	PaymentStatus     string
	CustomerID        string
	SubscriptionID    string
	ClientReferenceID string
	// MetadataUserID is metadata.supabase_uid, verbatim.
	MetadataUserID string
	Livemode       bool
}

// UserID is the Supabase user the session was created for:
// metadata.supabase_uid, which only a call with our secret key can set (our
// create-checkout-session sets it and client_reference_id to the same user).
// client_reference_id alone is not trusted, since Payment Links and the
// Pricing Table let anyone set it: a session without the metadata, or whose
// client_reference_id names another user, links nobody.
func (c CheckoutSession) UserID() string {
	meta := UserIDOf(c.MetadataUserID)
	if meta == "" {
		return ""
	}
	if c.ClientReferenceID != "" && UserIDOf(c.ClientReferenceID) != meta {
		return ""
	}
	return meta
}

// ParseCheckoutSession reads a Checkout Session object of any API version.
func ParseCheckoutSession(raw []byte) (CheckoutSession, error) {
	var r struct {
		ID                string   `json:"id"`
		Object            string   `json:"object"`
		Mode              string   `json:"mode"`
		Status            string   `json:"status"`
		PaymentStatus     string   `json:"payment_status"`
		Customer          ref      `json:"customer"`
		Subscription      ref      `json:"subscription"`
		ClientReferenceID *string  `json:"client_reference_id"`
		Metadata          metadata `json:"metadata"`
		Livemode          bool     `json:"livemode"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return CheckoutSession{}, fmt.Errorf("stripesync: checkout session: %w", err)
	}
	cs := CheckoutSession{ID: r.ID, Mode: r.Mode, Status: r.Status, PaymentStatus: r.PaymentStatus,
		CustomerID: string(r.Customer), SubscriptionID: string(r.Subscription),
		ClientReferenceID: deref(r.ClientReferenceID), MetadataUserID: r.Metadata.str("supabase_uid"),
		Livemode: r.Livemode}
	if r.Object != "" && r.Object != "checkout.session" {
		return cs, fmt.Errorf("%w: object is a %q, not a checkout session", ErrUnreadable, r.Object)
	}
	if cs.ID == "" {
		return cs, fmt.Errorf("%w: checkout session without an id", ErrUnreadable)
	}
	return cs, nil
}
