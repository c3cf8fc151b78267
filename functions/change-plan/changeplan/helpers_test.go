package changeplan_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/functions/change-plan/changeplan"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
)

// world is change-plan against stripe-mock behind the recording proxy,
// whose answers are rewritten to carry the test's subscriptions (fntest's
// mirror), the price a plan change asked for, the schedules the function
// creates, and an invoice preview with proration lines.
type world struct {
	*fntest.Subscribers

	mu sync.Mutex
	// failPayment makes an update answer as Stripe does when the
	// upgrade's payment fails: the old price and a pending_update.
	failPayment bool
	// schedules by subscription ID: the schedule the function made, as
	// Stripe would answer it, attached to the subscription's reads.
	schedules map[string]map[string]any
}

// Preview answer of the rewritten upcoming invoice.
const (
	previewCredit    = -1000
	previewCharge    = 2500
	previewAmountDue = previewCharge + previewCredit
	premiumUnit      = 3000
)

func start(t *testing.T, opt fntest.Options) *world {
	t.Helper()
	w := &world{Subscribers: fntest.StartSubscribers(t, changeplan.Spec, opt), schedules: map[string]map[string]any{}}
	p := w.Proxy
	// Updates of a subscription's item take the new price (or, when the
	// payment fails, keep the old one with a pending update).
	p.Rewrite("POST", "/v1/subscriptions/", func(req stripetest.Request, body map[string]any) {
		price := req.Form.Get("items[0][price]")
		if price == "" {
			return
		}
		w.mu.Lock()
		fail := w.failPayment
		w.mu.Unlock()
		if fail {
			body["pending_update"] = map[string]any{"expires_at": time.Now().Add(23 * time.Hour).Unix(),
				"subscription_items": []any{map[string]any{"id": req.Form.Get("items[0][id]"), "price": map[string]any{"id": price}}}}
			body["latest_invoice"] = map[string]any{"id": "in_pending", "object": "invoice", "status": "open",
				"hosted_invoice_url": "https://invoice.stripe.com/i/acct_test/in_pending"}
			return
		}
		body["pending_update"] = nil
		stripetest.SetSubscription(req, body, stripetest.Subscription{PriceID: price})
	})
	p.Rewrite("", "/v1/subscriptions/", func(req stripetest.Request, body map[string]any) {
		id := strings.TrimPrefix(req.Path, "/v1/subscriptions/")
		w.mu.Lock()
		defer w.mu.Unlock()
		if req.Form.Get("items[0][price]") == "" {
			body["pending_update"] = nil
		}
		if sc, ok := w.schedules[id]; ok && sc["status"] == "active" {
			body["schedule"] = sc
		} else {
			body["schedule"] = nil
		}
	})
	p.Rewrite("POST", "/v1/subscription_schedules", func(req stripetest.Request, body map[string]any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch {
		case req.Path == "/v1/subscription_schedules":
			subID := req.Form.Get("from_subscription")
			s := w.Subscription(subID)
			begin := s.PeriodEnd.AddDate(0, -1, 0).Unix()
			sc := schedule(subID, s.CustomerID, "active", begin, s.PeriodEnd.Unix(),
				phase(begin, s.PeriodEnd.Unix(), s.PriceID))
			w.schedules[subID] = sc
			replace(body, sc)
		case strings.HasSuffix(req.Path, "/release"):
			subID := subOf(w.schedules, strings.TrimSuffix(strings.TrimPrefix(req.Path, "/v1/subscription_schedules/"), "/release"))
			sc := w.schedules[subID]
			sc["status"], sc["subscription"], sc["released_subscription"] = "released", nil, subID
			sc["current_phase"] = nil
			replace(body, sc)
		default:
			subID := subOf(w.schedules, strings.TrimPrefix(req.Path, "/v1/subscription_schedules/"))
			sc := w.schedules[subID]
			s0, _ := strconv.ParseInt(req.Form.Get("phases[0][start_date]"), 10, 64)
			e0, _ := strconv.ParseInt(req.Form.Get("phases[0][end_date]"), 10, 64)
			e1 := time.Unix(e0, 0).AddDate(0, 1, 0).Unix()
			sc["phases"] = []any{phase(s0, e0, req.Form.Get("phases[0][items][0][price]")),
				phase(e0, e1, req.Form.Get("phases[1][items][0][price]"))}
			sc["current_phase"] = map[string]any{"start_date": s0, "end_date": e0}
			sc["end_behavior"] = req.Form.Get("end_behavior")
			replace(body, sc)
		}
	})
	p.Rewrite("GET", "/v1/invoices/upcoming", func(req stripetest.Request, body map[string]any) {
		pd, _ := strconv.ParseInt(req.Form.Get("subscription_proration_date"), 10, 64)
		price := req.Form.Get("subscription_items[0][price]")
		body["currency"] = "jpy"
		lines := []any{}
		if req.Form.Get("subscription_proration_behavior") == "none" {
			body["amount_due"] = 1000
			lines = append(lines, line(1000, "1 × Standard", false, 0, 0, price, 1000))
		} else {
			body["amount_due"] = previewAmountDue
			end := fntest.DefaultPeriodEnd.Unix()
			lines = append(lines,
				line(previewCredit, "Unused time on Standard", true, pd, end, fntest.StandardPrice, 1000),
				line(previewCharge, "Remaining time on Premium", true, pd, end, price, premiumUnit))
		}
		body["lines"] = map[string]any{"object": "list", "data": lines, "has_more": false, "url": "/v1/invoices/upcoming/lines"}
	})
	return w
}

func subOf(schedules map[string]map[string]any, schedID string) string {
	for sub, sc := range schedules {
		if sc["id"] == schedID {
			return sub
		}
	}
	return ""
}

func replace(body, with map[string]any) {
	for k := range body {
		delete(body, k)
	}
	for k, v := range with {
		body[k] = v
	}
}

func schedule(subID, customer, status string, begin, end int64, phases ...any) map[string]any {
	return map[string]any{"id": "sub_sched_" + strings.TrimPrefix(subID, "sub_"), "object": "subscription_schedule",
		"customer": customer, "subscription": subID, "status": status, "livemode": false,
		"end_behavior": "release", "released_subscription": nil,
		"current_phase": map[string]any{"start_date": begin, "end_date": end}, "phases": phases}
}

func phase(start, end int64, price string) map[string]any {
	return map[string]any{"start_date": start, "end_date": end,
		"items": []any{map[string]any{"price": price, "quantity": 1}}}
}

func line(amount int64, desc string, proration bool, start, end int64, price string, unit int64) map[string]any {
	return map[string]any{"object": "line_item", "id": "il_" + strconv.FormatInt(amount, 10), "amount": amount,
		"currency": "jpy", "description": desc, "proration": proration, "quantity": 1,
		"period": map[string]any{"start": start, "end": end},
		"price":  map[string]any{"id": price, "object": "price", "unit_amount": unit, "currency": "jpy"}}
}
