package webhook_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"time"
)

// API versions whose shapes the tests send.
const (
	v2023  = "2023-10-16"       // periods on the subscription, invoice.subscription
	vBasil = "2025-03-31.basil" // periods on items, invoice.parent.subscription_details
)

// sub is a subscription's state, rendered in either shape.
type sub struct {
	ID, Customer, Status, Price, UID string
	Created, PeriodStart, PeriodEnd  time.Time
	CancelAtPeriodEnd                bool
	CancelAt, CanceledAt, EndedAt    *time.Time
	TrialStart, TrialEnd             *time.Time
	Reason, Feedback                 string
	Livemode                         bool
}

func unixOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Unix()
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// object renders s as Stripe would in apiVersion.
func (s sub) object(apiVersion string) map[string]any {
	item := map[string]any{
		"id": "si_" + s.ID[4:], "object": "subscription_item", "quantity": 1, "subscription": s.ID,
		"price": map[string]any{"id": s.Price, "object": "price", "currency": "jpy", "unit_amount": 1000,
			"recurring": map[string]any{"interval": "month", "interval_count": 1}},
		"plan": map[string]any{"id": s.Price, "object": "plan", "interval": "month"},
	}
	meta := map[string]any{}
	if s.UID != "" {
		meta["supabase_uid"] = s.UID
	}
	o := map[string]any{
		"id": s.ID, "object": "subscription", "customer": s.Customer, "status": s.Status,
		"livemode": s.Livemode, "created": s.Created.Unix(), "start_date": s.Created.Unix(),
		"billing_cycle_anchor": s.PeriodStart.Unix(), "collection_method": "charge_automatically",
		"cancel_at_period_end": s.CancelAtPeriodEnd, "cancel_at": unixOrNil(s.CancelAt),
		"canceled_at": unixOrNil(s.CanceledAt), "ended_at": unixOrNil(s.EndedAt),
		"trial_start": unixOrNil(s.TrialStart), "trial_end": unixOrNil(s.TrialEnd),
		"cancellation_details": map[string]any{"reason": nilIfEmpty(s.Reason),
			"feedback": nilIfEmpty(s.Feedback), "comment": nil},
		"metadata": meta, "currency": "jpy",
		"items": map[string]any{"object": "list", "data": []any{item}, "has_more": false,
			"url": "/v1/subscription_items?subscription=" + url.QueryEscape(s.ID)},
	}
	if apiVersion == vBasil {
		item["current_period_start"] = s.PeriodStart.Unix()
		item["current_period_end"] = s.PeriodEnd.Unix()
		o["billing_mode"] = map[string]any{"type": "classic"}
	} else {
		o["current_period_start"] = s.PeriodStart.Unix()
		o["current_period_end"] = s.PeriodEnd.Unix()
		o["plan"] = item["plan"]
		o["quantity"] = 1
	}
	return o
}

// invoice is an invoice of a subscription.
type invoice struct {
	ID, Customer, Subscription, Status, Reason string
	Attempt                                    int
}

func (in invoice) object(apiVersion string) map[string]any {
	o := map[string]any{
		"id": in.ID, "object": "invoice", "customer": in.Customer, "status": in.Status,
		"billing_reason": in.Reason, "attempt_count": in.Attempt, "amount_due": 1000, "currency": "jpy",
		"livemode": false, "next_payment_attempt": nil,
	}
	if apiVersion == vBasil {
		o["parent"] = map[string]any{"type": "subscription_details", "quote_details": nil,
			"subscription_details": map[string]any{"subscription": in.Subscription, "metadata": map[string]any{}}}
	} else {
		o["subscription"] = in.Subscription
		o["paid"] = in.Status == "paid"
	}
	return o
}

// session is a completed Checkout Session in subscription mode.
func session(id, customer, subscription, clientRef, metaUID string) map[string]any {
	meta := map[string]any{}
	if metaUID != "" {
		meta["supabase_uid"] = metaUID
	}
	return map[string]any{
		"id": id, "object": "checkout.session", "mode": "subscription", "status": "complete",
		"payment_status": "paid", "customer": customer, "subscription": subscription,
		"client_reference_id": nilIfEmpty(clientRef), "metadata": meta, "livemode": false,
	}
}

// envelope wraps obj in an event; an empty apiVersion leaves the key out,
// as events before 2018 do.
func envelope(id, typ, apiVersion string, created time.Time, livemode bool, obj map[string]any) []byte {
	ev := map[string]any{
		"id": id, "object": "event", "type": typ, "created": created.Unix(), "livemode": livemode,
		"pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil},
		"data": map[string]any{"object": obj},
	}
	if apiVersion != "" {
		ev["api_version"] = apiVersion
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

func ptr(t time.Time) *time.Time { return &t }

// mustJSON marshals v (a rendered object).
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
