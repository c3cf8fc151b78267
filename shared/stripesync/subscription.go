// Package stripesync turns Stripe objects into billing state through one SQL
// path, billing_apply_event, that the webhook, cancel/resume and the
// reconcile job share.
//
// Its readers take the raw JSON of a subscription, invoice or Checkout
// Session of any Stripe API version, from before 2018 to 2026 (dahlia): the
// periods of a subscription at the top level (up to 2024) or on its items
// (2025-03-31.basil and later), its price on items.data[].price or the
// older items.data[].plan, an invoice's subscription under
// parent.subscription_details (basil and later) or at the top level. They
// never use stripe-go's typed structs, whose v76 types miss the newer shapes.
//
// A Syncer maps the price to a plan of the catalog (an unknown price is an
// *UnknownPriceError and nothing is written when the state would grant
// access to a subscription not stored with a known plan; otherwise the
// state applies and the stored plan is kept), derives the transactional
// emails an object calls for, and makes the one SQL call that records and
// applies it in one transaction.
package stripesync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Subscription is a Stripe subscription read from any API version
// (pre-2018 .. 2026 dahlia): periods top-level or on items.data[]
// (basil+); price from items.data[].price.id or .plan.id;
// cancellation_details; metadata.supabase_uid.
type Subscription struct {
	ID         string
	CustomerID string
	Status     string
	// PriceID is the price of the first item; PriceIDs lists every item's
	// price in item order (Syncer picks the first one the catalog knows).
	PriceID  string
	PriceIDs []string
	Quantity int64
	Livemode bool

	CurrentPeriodStart *time.Time
	CurrentPeriodEnd   *time.Time
	CancelAt           *time.Time
	CanceledAt         *time.Time
	EndedAt            *time.Time
	TrialStart         *time.Time
	TrialEnd           *time.Time
	CancelAtPeriodEnd  bool

	CancellationReason   string
	CancellationFeedback string
	CancellationComment  string

	// Created is the subscription's creation time; zero when the object
	// does not carry it (some hand-written payloads).
	Created time.Time
	// UserID is metadata.supabase_uid when it is a UUID, else "".
	UserID string
}

// ErrUnreadable marks an object that is JSON but misses what billing needs
// (an ID, a customer, a status or a price). The webhook fetches such a
// subscription from Stripe instead.
var ErrUnreadable = errors.New("stripesync: unreadable object")

// unix is a Stripe timestamp: seconds since the epoch, or null.
type unix struct{ t *time.Time }

func (u *unix) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		u.t = nil
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	i, err := n.Int64()
	if err != nil {
		return err
	}
	t := time.Unix(i, 0).UTC()
	u.t = &t
	return nil
}

// ref is a Stripe reference: an ID string, an expanded object with an
// "id", or null.
type ref string

func (r *ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*r = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = ref(s)
	case len(b) > 0 && b[0] == '{':
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*r = ref(o.ID)
	default:
		return fmt.Errorf("stripesync: a reference must be an ID or an object, got %.20s", b)
	}
	return nil
}

// metadata is Stripe metadata; values that are not strings are ignored.
type metadata map[string]any

func (m metadata) str(key string) string {
	s, _ := m[key].(string)
	return s
}

// isUUID reports whether s is a UUID in its text form: 36 bytes, hex
// digits of either case in groups of 8, 4, 4, 4 and 12 joined by hyphens.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// UserIDOf returns s lower-cased when it is a UUID (a Supabase user ID),
// else "".
func UserIDOf(s string) string {
	s = strings.TrimSpace(s)
	if !isUUID(s) {
		return ""
	}
	return strings.ToLower(s)
}

type rawItem struct {
	Price *struct {
		ID string `json:"id"`
	} `json:"price"`
	Plan *struct {
		ID string `json:"id"`
	} `json:"plan"`
	Quantity           *int64 `json:"quantity"`
	CurrentPeriodStart unix   `json:"current_period_start"`
	CurrentPeriodEnd   unix   `json:"current_period_end"`
}

func (it rawItem) priceID() string {
	if it.Price != nil && it.Price.ID != "" {
		return it.Price.ID
	}
	if it.Plan != nil {
		return it.Plan.ID
	}
	return ""
}

type rawSubscription struct {
	ID       string   `json:"id"`
	Object   string   `json:"object"`
	Customer ref      `json:"customer"`
	Status   string   `json:"status"`
	Livemode bool     `json:"livemode"`
	Metadata metadata `json:"metadata"`
	Items    *struct {
		Data []rawItem `json:"data"`
	} `json:"items"`
	Plan *struct {
		ID string `json:"id"`
	} `json:"plan"` // before 2018: a single plan at the top level
	Quantity            *int64 `json:"quantity"`
	CurrentPeriodStart  unix   `json:"current_period_start"`
	CurrentPeriodEnd    unix   `json:"current_period_end"`
	CancelAt            unix   `json:"cancel_at"`
	CanceledAt          unix   `json:"canceled_at"`
	EndedAt             unix   `json:"ended_at"`
	TrialStart          unix   `json:"trial_start"`
	TrialEnd            unix   `json:"trial_end"`
	Created             unix   `json:"created"`
	Start               unix   `json:"start"`
	CancelAtPeriodEnd   bool   `json:"cancel_at_period_end"`
	CancellationDetails *struct {
		Reason   *string `json:"reason"`
		Feedback *string `json:"feedback"`
		Comment  *string `json:"comment"`
	} `json:"cancellation_details"`
}

// ParseSubscription reads a subscription object of any API version, in one
// pass over the bytes (readSubscription), which also checks that the whole
// input is valid JSON. A body
// that is not a JSON object is an error; an object without an ID, customer,
// status or price is an error wrapping ErrUnreadable (its ID, if any, is
// still returned so that the caller can fetch it).
func ParseSubscription(raw []byte) (Subscription, error) {
	var r rawSubscription
	if err := readSubscription(raw, &r); err != nil {
		return Subscription{}, fmt.Errorf("stripesync: subscription: %w", err)
	}
	return r.subscription()
}

// subscription is what billing reads of r, and whether it is readable.
func (r *rawSubscription) subscription() (Subscription, error) {
	s := Subscription{
		ID: r.ID, CustomerID: string(r.Customer), Status: r.Status, Livemode: r.Livemode,
		CurrentPeriodStart: r.CurrentPeriodStart.t, CurrentPeriodEnd: r.CurrentPeriodEnd.t,
		CancelAt: r.CancelAt.t, CanceledAt: r.CanceledAt.t, EndedAt: r.EndedAt.t,
		TrialStart: r.TrialStart.t, TrialEnd: r.TrialEnd.t, CancelAtPeriodEnd: r.CancelAtPeriodEnd,
		UserID: UserIDOf(r.Metadata.str("supabase_uid")),
	}
	if r.Created.t != nil {
		s.Created = *r.Created.t
	} else if r.Start.t != nil {
		s.Created = *r.Start.t
	}
	if d := r.CancellationDetails; d != nil {
		s.CancellationReason, s.CancellationFeedback, s.CancellationComment = deref(d.Reason), deref(d.Feedback), deref(d.Comment)
	}
	if r.Quantity != nil {
		s.Quantity = *r.Quantity
	}
	if r.Items != nil {
		for i, it := range r.Items.Data {
			if p := it.priceID(); p != "" {
				s.PriceIDs = append(s.PriceIDs, p)
			}
			if i == 0 && it.Quantity != nil {
				s.Quantity = *it.Quantity
			}
			// Since 2025-03-31.basil the periods live on the items only.
			if s.CurrentPeriodEnd == nil && it.CurrentPeriodEnd.t != nil {
				s.CurrentPeriodStart, s.CurrentPeriodEnd = it.CurrentPeriodStart.t, it.CurrentPeriodEnd.t
			}
		}
	}
	if len(s.PriceIDs) == 0 && r.Plan != nil && r.Plan.ID != "" {
		s.PriceIDs = []string{r.Plan.ID}
	}
	if len(s.PriceIDs) > 0 {
		s.PriceID = s.PriceIDs[0]
	}
	if r.Object != "" && r.Object != "subscription" {
		return s, fmt.Errorf("%w: object is a %q, not a subscription", ErrUnreadable, r.Object)
	}
	switch {
	case s.ID == "":
		return s, fmt.Errorf("%w: subscription without an id", ErrUnreadable)
	case s.CustomerID == "":
		return s, fmt.Errorf("%w: subscription %s without a customer", ErrUnreadable, s.ID)
	case s.Status == "":
		return s, fmt.Errorf("%w: subscription %s without a status", ErrUnreadable, s.ID)
	case s.PriceID == "":
		return s, fmt.Errorf("%w: subscription %s without a price", ErrUnreadable, s.ID)
	}
	return s, nil
}

// ScheduledEnd is when the subscription is set to end: cancel_at, or the
// current period end when it cancels at period end (the earlier of the
// two when both are set); nil while it renews.
func (s Subscription) ScheduledEnd() *time.Time {
	var end *time.Time
	if s.CancelAtPeriodEnd && s.CurrentPeriodEnd != nil {
		end = s.CurrentPeriodEnd
	}
	if s.CancelAt != nil && (end == nil || s.CancelAt.Before(*end)) {
		end = s.CancelAt
	}
	return end
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
