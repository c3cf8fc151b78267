package stripesync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"billing/shared/store"
)

// Schedule is a Stripe subscription schedule read from its JSON (any API
// version): its subscription (or, once released, released_subscription),
// status, and the plan change it has waiting: the first phase after the
// current one whose price differs from the current phase's.
type Schedule struct {
	ID             string
	CustomerID     string
	SubscriptionID string
	Status         string
	Livemode       bool
	// CurrentPrice is the price of the current phase's first item ("" when
	// no phase is current).
	CurrentPrice string
	// NextPrice and NextAt are the next phase's price and start, when that
	// price differs from CurrentPrice; "" and nil otherwise.
	NextPrice string
	NextAt    *time.Time
}

// Live reports whether the schedule still manages its subscription.
func (s Schedule) Live() bool { return s.Status == "not_started" || s.Status == "active" }

// rawPhaseItem is an item of a phase: its price is an ID or an expanded
// object (plan in older versions).
type rawPhaseItem struct {
	Price ref `json:"price"`
	Plan  ref `json:"plan"`
}

type rawPhase struct {
	StartDate unix           `json:"start_date"`
	EndDate   unix           `json:"end_date"`
	Items     []rawPhaseItem `json:"items"`
}

func (p rawPhase) price() string {
	if len(p.Items) == 0 {
		return ""
	}
	if p.Items[0].Price != "" {
		return string(p.Items[0].Price)
	}
	return string(p.Items[0].Plan)
}

type rawSchedule struct {
	ID                   string `json:"id"`
	Object               string `json:"object"`
	Customer             ref    `json:"customer"`
	Subscription         ref    `json:"subscription"`
	ReleasedSubscription ref    `json:"released_subscription"`
	Status               string `json:"status"`
	Livemode             bool   `json:"livemode"`
	CurrentPhase         *struct {
		StartDate unix `json:"start_date"`
		EndDate   unix `json:"end_date"`
	} `json:"current_phase"`
	Phases []rawPhase `json:"phases"`
}

// ParseSchedule reads a subscription schedule object. An object without an
// ID, customer or status is an error wrapping ErrUnreadable.
func ParseSchedule(raw []byte) (Schedule, error) {
	var r rawSchedule
	if err := json.Unmarshal(raw, &r); err != nil {
		return Schedule{}, fmt.Errorf("stripesync: subscription schedule: %w", err)
	}
	s := Schedule{ID: r.ID, CustomerID: string(r.Customer), SubscriptionID: string(r.Subscription),
		Status: r.Status, Livemode: r.Livemode}
	if s.SubscriptionID == "" {
		s.SubscriptionID = string(r.ReleasedSubscription)
	}
	if r.Object != "" && r.Object != "subscription_schedule" {
		return s, fmt.Errorf("%w: object is a %q, not a subscription schedule", ErrUnreadable, r.Object)
	}
	if s.ID == "" || s.CustomerID == "" || s.Status == "" {
		return s, fmt.Errorf("%w: subscription schedule %q without an id, a customer or a status", ErrUnreadable, s.ID)
	}
	if r.CurrentPhase == nil || r.CurrentPhase.StartDate.t == nil {
		return s, nil
	}
	start := *r.CurrentPhase.StartDate.t
	cur := -1
	for i, p := range r.Phases {
		if p.StartDate.t != nil && p.StartDate.t.Equal(start) {
			cur = i
			break
		}
	}
	if cur < 0 {
		return s, nil
	}
	s.CurrentPrice = r.Phases[cur].price()
	for _, p := range r.Phases[cur+1:] {
		if price := p.price(); price != "" && price != s.CurrentPrice && p.StartDate.t != nil {
			s.NextPrice, s.NextAt = price, p.StartDate.t
			break
		}
	}
	return s, nil
}

// ScheduleResult is billing_apply_schedule's answer.
type ScheduleResult struct {
	// Status is "processed", "duplicate" or "needs_fetch".
	Status string `json:"status"`
	// Schedule is "applied", "stale" or "none".
	Schedule string `json:"schedule"`
	// NeedsFetch is the schedule to fetch before calling again; nothing
	// was written.
	NeedsFetch string `json:"needs_fetch"`
	// StateAt is, with NeedsFetch, the stored state's time.
	StateAt *time.Time `json:"state_at"`
}

// ApplySchedule records ev (nil for an API answer or a reconcile read) and
// applies the schedule object raw, stamped with stateAt (event.created, or
// a lower bound of Stripe's read) and source (SourceEvent, SourceFetch or
// SourceAPI), in one call to billing_apply_schedule. The next phase's price
// is mapped to a plan of the catalog; an unknown price is stored without a
// plan (check-subscription then shows no scheduled plan).
func (s *Syncer) ApplySchedule(ctx context.Context, ev *Event, payload json.RawMessage, raw []byte, stateAt time.Time, source string) (ScheduleResult, error) {
	sc, err := ParseSchedule(raw)
	if err != nil {
		return ScheduleResult{}, err
	}
	doc := map[string]any{"schedule": s.scheduleDoc(sc, raw, stateAt, source)}
	if ev != nil {
		doc["event"] = map[string]any{
			"id": ev.ID, "type": ev.Type, "livemode": ev.Livemode, "api_version": ev.APIVersion,
			"created": ev.Created.UTC().Format(time.RFC3339), "payload": payload,
		}
	}
	enc, err := json.Marshal(doc)
	if err != nil {
		return ScheduleResult{}, fmt.Errorf("stripesync: encode schedule: %w", err)
	}
	var res ScheduleResult
	if err := s.Store.Call(ctx, "billing_apply_schedule", []store.Arg{{Name: "p_doc", Value: json.RawMessage(enc)}}, &res); err != nil {
		return ScheduleResult{}, err
	}
	return res, nil
}

func (s *Syncer) scheduleDoc(sc Schedule, raw []byte, stateAt time.Time, source string) map[string]any {
	d := map[string]any{
		"id": sc.ID, "customer_id": sc.CustomerID, "subscription_id": sc.SubscriptionID,
		"livemode": sc.Livemode, "status": sc.Status, "source": source,
		"state_at": stateAt.UTC().Truncate(time.Second).Format(time.RFC3339), "raw": json.RawMessage(raw),
	}
	if sc.NextPrice != "" && sc.NextAt != nil {
		d["scheduled_price_id"] = sc.NextPrice
		d["scheduled_change_at"] = sc.NextAt.UTC().Format(time.RFC3339)
		if p, ok := s.Catalog.PlanForPrice(sc.NextPrice); ok {
			d["scheduled_plan"] = p.ID
		}
	}
	return d
}

// ScheduleIDOf returns the ID of the schedule a subscription object names
// in "schedule" (an ID or an expanded object), or "".
func ScheduleIDOf(raw []byte) string {
	var o struct {
		Schedule ref `json:"schedule"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	return string(o.Schedule)
}
