package stripesync

import (
	"encoding/json"
	"errors"
	"time"
)

// The JSON document billing_apply_event takes (see its comment in
// migrations/20261121020100_billing_apply_event.sql). The event's payload,
// the subscription's raw object and the catalog are raw JSON that
// appendDocument adds as "payload", "raw" and "catalog".

type eventDoc struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	Livemode   bool      `json:"livemode"`
	Created    time.Time `json:"created"`
	APIVersion string    `json:"api_version,omitempty"`
	Status     string    `json:"status"`
}

type subscriptionDoc struct {
	ID                   string     `json:"id"`
	CustomerID           string     `json:"customer_id"`
	UserID               string     `json:"user_id,omitempty"`
	Status               string     `json:"status"`
	PriceID              string     `json:"price_id"`
	Plan                 string     `json:"plan"`
	Quantity             int64      `json:"quantity"`
	Livemode             bool       `json:"livemode"`
	CurrentPeriodStart   *time.Time `json:"current_period_start"`
	CurrentPeriodEnd     *time.Time `json:"current_period_end"`
	CancelAtPeriodEnd    bool       `json:"cancel_at_period_end"`
	CancelAt             *time.Time `json:"cancel_at"`
	CanceledAt           *time.Time `json:"canceled_at"`
	EndedAt              *time.Time `json:"ended_at"`
	TrialStart           *time.Time `json:"trial_start"`
	TrialEnd             *time.Time `json:"trial_end"`
	CancellationReason   string     `json:"cancellation_reason,omitempty"`
	CancellationFeedback string     `json:"cancellation_feedback,omitempty"`
	CancellationComment  string     `json:"cancellation_comment,omitempty"`
	StripeCreated        *time.Time `json:"stripe_created"`
	StateAt              time.Time  `json:"state_at"`
	Source               string     `json:"source"`
	UnknownPrice         bool       `json:"unknown_price,omitempty"`
	// RawIsEventObject: the raw object is the event payload's data.object,
	// which the document holds already; it is not sent twice.
	RawIsEventObject bool `json:"raw_is_event_object,omitempty"`
}

type applyDoc struct {
	Event               *eventDoc        `json:"event,omitempty"`
	CustomerID          string           `json:"customer_id,omitempty"`
	Subscription        *subscriptionDoc `json:"subscription,omitempty"`
	RequireSubscription string           `json:"require_subscription,omitempty"`
	Link                *Link            `json:"link,omitempty"`
	PaidInvoice         string           `json:"paid_invoice,omitempty"`
	Emails              []Email          `json:"emails"`
	Locale              string           `json:"locale"`
}

// catalogJSON is CatalogDocument(s.Catalog), built once.
func (s *Syncer) catalogJSON() json.RawMessage {
	s.once.Do(func() { s.catalog = CatalogDocument(s.Catalog) })
	return s.catalog
}

func (s *Syncer) document(ev *Event, payload json.RawMessage, status string, fx Effects) ([]byte, error) {
	if s.Store == nil || s.Catalog == nil {
		return nil, errors.New("stripesync: Syncer needs a Store and a Catalog")
	}
	locale := s.Locale
	if locale == "" {
		locale = "en"
	}
	doc := applyDoc{CustomerID: fx.CustomerID, RequireSubscription: fx.RequireSubscription,
		Link: fx.Link, PaidInvoice: fx.PaidInvoice, Emails: fx.Emails, Locale: locale}
	if doc.Emails == nil {
		doc.Emails = []Email{}
	}
	var evDoc *eventDoc
	if ev != nil {
		evDoc = &eventDoc{ID: ev.ID, Type: ev.Type, Livemode: ev.Livemode, Created: ev.Created,
			APIVersion: ev.APIVersion, Status: status}
	}
	var subDoc *subscriptionDoc
	var raw []byte
	rawChecked := false
	if st := fx.Subscription; st != nil {
		subDoc = subscriptionDocOf(st)
		raw, rawChecked = st.Raw, st.rawChecked
		if doc.CustomerID == "" {
			doc.CustomerID = st.CustomerID
		}
	}
	// The event's body and the object read from it were checked whole when
	// they were read: only other bytes are checked again.
	payloadChecked := ev != nil && sameBytes(payload, ev.body)
	// The object read from the event's body is in the payload already:
	// Postgres reads it from there (parsing it once, not twice).
	if subDoc != nil && payloadChecked && len(payload) > 0 && len(raw) > 0 && sameBytes(raw, ev.Object) {
		subDoc.RawIsEventObject = true
		raw = nil
	}
	return appendDocument(doc, evDoc, part{payload, payloadChecked}, subDoc, part{raw, rawChecked}, s.catalogJSON())
}

// subscriptionDocOf is the document part of st, without its raw object.
func subscriptionDocOf(st *State) *subscriptionDoc {
	d := &subscriptionDoc{ID: st.ID, CustomerID: st.CustomerID, UserID: st.UserID, Status: st.Status,
		PriceID: st.PriceID, Plan: st.Plan, Quantity: st.Quantity, Livemode: st.Livemode,
		CurrentPeriodStart: st.CurrentPeriodStart, CurrentPeriodEnd: st.CurrentPeriodEnd,
		CancelAtPeriodEnd: st.CancelAtPeriodEnd, CancelAt: st.CancelAt, CanceledAt: st.CanceledAt,
		EndedAt: st.EndedAt, TrialStart: st.TrialStart, TrialEnd: st.TrialEnd,
		CancellationReason: st.CancellationReason, CancellationFeedback: st.CancellationFeedback,
		CancellationComment: st.CancellationComment, StateAt: st.StateAt, Source: st.Source,
		UnknownPrice: st.UnknownPrice != ""}
	if !st.Created.IsZero() {
		created := st.Created
		d.StripeCreated = &created
	}
	return d
}

// appendDocument writes doc with its event (and the event's payload), its
// subscription (and the object's raw JSON) and the catalog. The raw parts
// are spliced in as they are, not through encoding/json, which would check
// and compact each again (the 4 KB payload and its 3.5 KB object were the
// webhook's largest encoding cost); a part that is not valid JSON is left
// out, as before (the scanner checks a part not known to be JSON already:
// checkJSON).
func appendDocument(doc applyDoc, ev *eventDoc, payload part, sub *subscriptionDoc, raw part, catalog []byte) ([]byte, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	b = b[:len(b)-1] // the closing brace; doc always has emails and locale
	if ev != nil {
		if b, err = appendObject(append(b, `,"event":`...), ev, "payload", payload); err != nil {
			return nil, err
		}
	}
	if sub != nil {
		if b, err = appendObject(append(b, `,"subscription":`...), sub, "raw", raw); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"catalog":`...)
	b = append(b, catalog...)
	// The document is this function's own buffer: changed in place.
	return jsonbSafe(append(b, '}'), false), nil
}

// part is raw JSON to splice into the document, and whether the scanner
// has checked it already.
type part struct {
	b       []byte
	checked bool
}

// sameBytes reports whether a and b are the same bytes in memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// appendObject appends v as JSON with the key name holding extra (raw
// JSON) as its last member, when extra is valid JSON.
func appendObject(b []byte, v any, name string, p part) ([]byte, error) {
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	extra := p.b
	if len(extra) == 0 || !p.checked && checkJSON(extra) != nil {
		return append(b, enc...), nil
	}
	b = append(b, enc[:len(enc)-1]...)
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	b = append(b, extra...)
	return append(b, '}'), nil
}
