package stripesync

import (
	"encoding/json"
	"errors"
	"time"
)

// The JSON document billing_apply_event takes (see its comment in
// migrations/20261121020100_billing_apply_event.sql).

type eventDoc struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Livemode   bool            `json:"livemode"`
	Created    time.Time       `json:"created"`
	APIVersion string          `json:"api_version,omitempty"`
	Status     string          `json:"status"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

type subscriptionDoc struct {
	ID                   string          `json:"id"`
	CustomerID           string          `json:"customer_id"`
	UserID               string          `json:"user_id,omitempty"`
	Status               string          `json:"status"`
	PriceID              string          `json:"price_id"`
	Plan                 string          `json:"plan"`
	Quantity             int64           `json:"quantity"`
	Livemode             bool            `json:"livemode"`
	CurrentPeriodStart   *time.Time      `json:"current_period_start"`
	CurrentPeriodEnd     *time.Time      `json:"current_period_end"`
	CancelAtPeriodEnd    bool            `json:"cancel_at_period_end"`
	CancelAt             *time.Time      `json:"cancel_at"`
	CanceledAt           *time.Time      `json:"canceled_at"`
	EndedAt              *time.Time      `json:"ended_at"`
	TrialStart           *time.Time      `json:"trial_start"`
	TrialEnd             *time.Time      `json:"trial_end"`
	CancellationReason   string          `json:"cancellation_reason,omitempty"`
	CancellationFeedback string          `json:"cancellation_feedback,omitempty"`
	CancellationComment  string          `json:"cancellation_comment,omitempty"`
	StripeCreated        *time.Time      `json:"stripe_created"`
	StateAt              time.Time       `json:"state_at"`
	Source               string          `json:"source"`
	Raw                  json.RawMessage `json:"raw,omitempty"`
	UnknownPrice         bool            `json:"unknown_price,omitempty"`
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
	Catalog             json.RawMessage  `json:"catalog"`
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
		Link: fx.Link, PaidInvoice: fx.PaidInvoice, Emails: fx.Emails, Locale: locale, Catalog: s.catalogJSON()}
	if doc.Emails == nil {
		doc.Emails = []Email{}
	}
	if ev != nil {
		doc.Event = &eventDoc{ID: ev.ID, Type: ev.Type, Livemode: ev.Livemode, Created: ev.Created,
			APIVersion: ev.APIVersion, Status: status}
		if json.Valid(payload) {
			doc.Event.Payload = payload
		}
	}
	if st := fx.Subscription; st != nil {
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
		if json.Valid(st.Raw) {
			d.Raw = st.Raw
		}
		doc.Subscription = d
		if doc.CustomerID == "" {
			doc.CustomerID = st.CustomerID
		}
	}
	return json.Marshal(doc)
}
