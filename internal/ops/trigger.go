package ops

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

//go:embed events/*.json
var eventFS embed.FS

// EventOptions say what event BuildEvent makes.
type EventOptions struct {
	// Type is the event type; TriggerTypes lists the supported ones.
	Type string
	// UserID goes into metadata.supabase_uid (and a checkout's
	// client_reference_id).
	UserID string
	// CustomerID, SubscriptionID: the Stripe IDs the event is about.
	CustomerID, SubscriptionID string
	// PriceID is the price on the subscription's items (and invoice lines).
	PriceID string
	// Livemode marks the event and its object as live mode.
	Livemode bool
	// CancelAtPeriodEnd schedules a cancel on a subscription event.
	CancelAtPeriodEnd bool
	// Status overrides the subscription status (default: active, or
	// canceled for customer.subscription.deleted).
	Status string
	// Now is the event's created time (and the period start); zero is time.Now.
	Now time.Time
}

// TriggerTypes lists the event types BuildEvent can make, from the
// fixtures in events/.
func TriggerTypes() []string {
	entries, _ := eventFS.ReadDir("events")
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// DefaultCustomerID is the customer trigger uses for a user that has none:
// stable per user, so that successive events are about the same customer.
func DefaultCustomerID(userID string) string { return "cus_dev" + idPart(userID) }

// DefaultSubscriptionID is the subscription trigger uses by default: stable
// per user, so that created, updated and deleted follow one subscription.
func DefaultSubscriptionID(userID string) string { return "sub_dev" + idPart(userID) }

func idPart(userID string) string {
	s := strings.ReplaceAll(strings.ToLower(userID), "-", "")
	if len(s) > 14 {
		s = s[len(s)-14:]
	}
	return s
}

// BuildEvent makes a realistic Stripe event of o.Type from a captured
// payload: a fresh event ID, created = now, and the object's IDs, user,
// price, status and periods filled in.
func BuildEvent(o EventOptions) ([]byte, error) {
	raw, err := eventFS.ReadFile("events/" + o.Type + ".json")
	if err != nil || strings.ContainsAny(o.Type, "/\\") {
		return nil, fmt.Errorf("no fixture for event type %q (have: %s)", o.Type, strings.Join(TriggerTypes(), ", "))
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	if o.CustomerID == "" || o.SubscriptionID == "" {
		return nil, fmt.Errorf("a customer and a subscription ID are required")
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("fixture %s: %w", o.Type, err)
	}
	if ev["object"] != "event" { // a data-only capture: wrap it
		ev = map[string]any{"object": "event", "api_version": "2022-08-01", "data": ev}
	}
	now := o.Now.Unix()
	ev["id"] = "evt_" + randomID(24)
	ev["type"] = o.Type
	ev["created"] = now
	ev["livemode"] = o.Livemode
	ev["pending_webhooks"] = 1
	ev["request"] = map[string]any{"id": nil, "idempotency_key": nil}
	data, _ := ev["data"].(map[string]any)
	obj, _ := data["object"].(map[string]any)
	if obj == nil {
		return nil, fmt.Errorf("fixture %s has no data.object", o.Type)
	}
	obj["livemode"] = o.Livemode
	switch {
	case strings.HasPrefix(o.Type, "customer.subscription."):
		if o.PriceID == "" {
			return nil, fmt.Errorf("a price ID is required for %s", o.Type)
		}
		fillSubscription(obj, o)
		if o.Type == "customer.subscription.updated" {
			data["previous_attributes"] = map[string]any{"cancel_at_period_end": !o.CancelAtPeriodEnd}
		}
	case o.Type == "checkout.session.completed":
		fillCheckout(obj, o)
	case strings.HasPrefix(o.Type, "invoice."):
		fillInvoice(obj, o)
	}
	return json.MarshalIndent(ev, "", "  ")
}

func fillSubscription(obj map[string]any, o EventOptions) {
	now := o.Now.Unix()
	end := o.Now.AddDate(0, 1, 0).Unix()
	status := o.Status
	if status == "" {
		status = "active"
		if o.Type == "customer.subscription.deleted" {
			status = "canceled"
		}
	}
	obj["id"], obj["customer"], obj["status"] = o.SubscriptionID, o.CustomerID, status
	obj["metadata"] = map[string]any{"supabase_uid": o.UserID}
	obj["created"], obj["start_date"], obj["billing_cycle_anchor"] = now, now, now
	obj["current_period_start"], obj["current_period_end"] = now, end
	obj["cancel_at_period_end"], obj["cancel_at"] = o.CancelAtPeriodEnd, nil
	obj["canceled_at"], obj["ended_at"] = nil, nil
	if o.CancelAtPeriodEnd || status == "canceled" {
		obj["canceled_at"] = now
	}
	if status == "canceled" {
		obj["ended_at"] = now
	}
	obj["schedule"], obj["latest_invoice"] = nil, "in_"+randomID(24)
	setPrice(obj, o.PriceID)
	if items, ok := obj["items"].(map[string]any); ok {
		items["url"] = "/v1/subscription_items?subscription=" + o.SubscriptionID
		for _, it := range list(items["data"]) {
			it["subscription"] = o.SubscriptionID
			setPrice(it, o.PriceID)
		}
	}
}

func fillCheckout(obj map[string]any, o EventOptions) {
	obj["id"] = "cs_test_" + randomID(24)
	obj["customer"], obj["subscription"] = o.CustomerID, o.SubscriptionID
	obj["client_reference_id"] = o.UserID
	obj["metadata"] = map[string]any{"supabase_uid": o.UserID}
	obj["mode"], obj["status"], obj["payment_status"] = "subscription", "complete", "paid"
	obj["expires_at"] = o.Now.Add(24 * time.Hour).Unix()
}

func fillInvoice(obj map[string]any, o EventOptions) {
	now := o.Now.Unix()
	end := o.Now.AddDate(0, 1, 0).Unix()
	obj["id"] = "in_" + randomID(24)
	obj["customer"], obj["subscription"] = o.CustomerID, o.SubscriptionID
	obj["customer_email"], obj["customer_name"] = nil, nil
	obj["created"], obj["period_start"], obj["period_end"] = now, now, now
	obj["billing_reason"] = "subscription_cycle"
	if o.Type == "invoice.payment_failed" {
		obj["status"], obj["paid"], obj["attempt_count"] = "open", false, 1
		obj["next_payment_attempt"] = o.Now.Add(72 * time.Hour).Unix()
	} else {
		obj["status"], obj["paid"], obj["attempt_count"], obj["next_payment_attempt"] = "paid", true, 1, nil
	}
	if lines, ok := obj["lines"].(map[string]any); ok {
		lines["url"] = "/v1/invoices/" + obj["id"].(string) + "/lines"
		for _, l := range list(lines["data"]) {
			l["subscription"] = o.SubscriptionID
			l["period"] = map[string]any{"start": now, "end": end}
			if o.PriceID != "" {
				setPrice(l, o.PriceID)
			}
		}
	}
}

// setPrice puts priceID on an object's price and legacy plan.
func setPrice(obj map[string]any, priceID string) {
	for _, k := range []string{"price", "plan"} {
		if p, ok := obj[k].(map[string]any); ok {
			p["id"] = priceID
		}
	}
}

func list(v any) []map[string]any {
	arr, _ := v.([]any)
	var out []map[string]any
	for _, x := range arr {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func randomID(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SignatureHeader is the Stripe-Signature header Stripe would send for
// payload signed with secret at t (scheme v1, HMAC-SHA256).
func SignatureHeader(payload []byte, secret string, t time.Time) string {
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(webhook.ComputeSignature(t, payload, secret)))
}

// SendEvent posts payload to url signed with secret, as Stripe delivers a
// webhook, and returns the answer's status and body (at most 64 KiB).
func SendEvent(ctx context.Context, client *http.Client, url string, payload []byte, secret string) (int, []byte, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks) billing-trigger")
	req.Header.Set("Stripe-Signature", SignatureHeader(payload, secret, time.Now()))
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, body, err
}
