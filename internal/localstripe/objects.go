package localstripe

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// customer is a kept Stripe customer.
type customer struct {
	ID       string            `json:"id"`
	Email    string            `json:"email,omitempty"`
	Name     string            `json:"name,omitempty"`
	Metadata map[string]string `json:"metadata"`
	Created  int64             `json:"created"`
}

// session is a kept Checkout Session (subscription mode).
type session struct {
	ID                   string            `json:"id"`
	Customer             string            `json:"customer"`
	ClientReferenceID    string            `json:"client_reference_id,omitempty"`
	Mode                 string            `json:"mode"`
	PriceID              string            `json:"price_id"`
	SuccessURL           string            `json:"success_url"`
	CancelURL            string            `json:"cancel_url"`
	Metadata             map[string]string `json:"metadata"`
	SubscriptionMetadata map[string]string `json:"subscription_metadata"`
	TrialDays            int               `json:"trial_days,omitempty"`
	Status               string            `json:"status"` // open, complete, expired
	Subscription         string            `json:"subscription,omitempty"`
	Created              int64             `json:"created"`
	URL                  string            `json:"url"`
	Seq                  int64             `json:"seq"`
}

// subscription is a kept subscription with one item.
type subscription struct {
	ID                string            `json:"id"`
	Customer          string            `json:"customer"`
	Status            string            `json:"status"`
	PriceID           string            `json:"price_id"`
	ItemID            string            `json:"item_id"`
	Metadata          map[string]string `json:"metadata"`
	Created           int64             `json:"created"`
	PeriodStart       int64             `json:"current_period_start"`
	PeriodEnd         int64             `json:"current_period_end"`
	CancelAtPeriodEnd bool              `json:"cancel_at_period_end"`
	CancelAt          *int64            `json:"cancel_at"`
	CanceledAt        *int64            `json:"canceled_at"`
	EndedAt           *int64            `json:"ended_at"`
	TrialStart        *int64            `json:"trial_start"`
	TrialEnd          *int64            `json:"trial_end"`
	Feedback          string            `json:"feedback,omitempty"`
	Comment           string            `json:"comment,omitempty"`
	CancelReason      string            `json:"cancel_reason,omitempty"`
	LatestInvoice     string            `json:"latest_invoice,omitempty"`
	Seq               int64             `json:"seq"`
}

// metadata reads the prefix[key]=value fields of a form.
func metadata(form url.Values, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range form {
		if key, ok := strings.CutPrefix(k, prefix+"["); ok && strings.HasSuffix(key, "]") && len(v) > 0 {
			out[strings.TrimSuffix(key, "]")] = v[0]
		}
	}
	return out
}

func (s *Server) createCustomer(form url.Values) map[string]any {
	c := &customer{ID: newID("cus"), Email: form.Get("email"), Name: form.Get("name"),
		Metadata: metadata(form, "metadata"), Created: unix(s.opt.Now())}
	s.st.Customers[c.ID] = c
	return c.json()
}

func (c *customer) update(form url.Values) {
	if v, ok := form["email"]; ok && len(v) > 0 {
		c.Email = v[0]
	}
	for k, v := range metadata(form, "metadata") {
		if v == "" {
			delete(c.Metadata, k)
		} else {
			c.Metadata[k] = v
		}
	}
}

func (c *customer) json() map[string]any {
	return map[string]any{"id": c.ID, "object": "customer", "email": nullable(c.Email), "name": nullable(c.Name),
		"metadata": c.Metadata, "created": c.Created, "livemode": false, "balance": 0, "delinquent": false,
		"invoice_settings": map[string]any{"default_payment_method": nil}}
}

func (s *Server) createSession(form url.Values) map[string]any {
	trial, _ := strconv.Atoi(form.Get("subscription_data[trial_period_days]"))
	cs := &session{ID: "cs_test_L" + randomID(40), Customer: form.Get("customer"),
		ClientReferenceID: form.Get("client_reference_id"), Mode: form.Get("mode"),
		PriceID: form.Get("line_items[0][price]"), SuccessURL: form.Get("success_url"), CancelURL: form.Get("cancel_url"),
		Metadata: metadata(form, "metadata"), SubscriptionMetadata: metadata(form, "subscription_data[metadata]"),
		TrialDays: trial, Status: "open", Created: unix(s.opt.Now()), Seq: s.next()}
	cs.URL = s.opt.PublicURL + Prefix + "/checkout/" + cs.ID
	s.st.Sessions[cs.ID] = cs
	return cs.json()
}

func (cs *session) json() map[string]any {
	payment := "unpaid"
	if cs.Status == "complete" {
		payment = "paid"
	}
	return map[string]any{"id": cs.ID, "object": "checkout.session", "mode": cs.Mode, "status": cs.Status,
		"payment_status": payment, "customer": cs.Customer, "client_reference_id": nullable(cs.ClientReferenceID),
		"subscription": nullable(cs.Subscription), "success_url": cs.SuccessURL, "cancel_url": cs.CancelURL,
		"metadata": cs.Metadata, "url": cs.urlIfOpen(), "created": cs.Created, "expires_at": cs.Created + 24*3600,
		"livemode": false, "currency": "usd", "amount_total": 1000, "invoice": nil}
}

func (cs *session) urlIfOpen() any {
	if cs.Status != "open" {
		return nil
	}
	return cs.URL
}

// json is the subscription in API version 2023-10-16's shape (the period
// on the subscription), with the period also on its item (2025-03-31+).
func (sub *subscription) json() map[string]any {
	price := map[string]any{"id": sub.PriceID, "object": "price", "active": true, "currency": "usd",
		"unit_amount": 1000, "type": "recurring", "product": "prod_local", "livemode": false,
		"recurring": map[string]any{"interval": "month", "interval_count": 1}}
	item := map[string]any{"id": sub.ItemID, "object": "subscription_item", "price": price, "quantity": 1,
		"subscription": sub.ID, "created": sub.Created, "metadata": map[string]string{},
		"current_period_start": sub.PeriodStart, "current_period_end": sub.PeriodEnd}
	details := map[string]any{"comment": nullable(sub.Comment), "feedback": nullable(sub.Feedback),
		"reason": nullable(sub.CancelReason)}
	return map[string]any{"id": sub.ID, "object": "subscription", "customer": sub.Customer, "status": sub.Status,
		"metadata": sub.Metadata, "created": sub.Created, "start_date": sub.Created, "billing_cycle_anchor": sub.Created,
		"current_period_start": sub.PeriodStart, "current_period_end": sub.PeriodEnd,
		"cancel_at_period_end": sub.CancelAtPeriodEnd, "cancel_at": sub.CancelAt, "canceled_at": sub.CanceledAt,
		"ended_at": sub.EndedAt, "trial_start": sub.TrialStart, "trial_end": sub.TrialEnd,
		"cancellation_details": details, "latest_invoice": nullable(sub.LatestInvoice), "livemode": false,
		"collection_method": "charge_automatically", "currency": "usd",
		"items": map[string]any{"object": "list", "data": []any{item}, "has_more": false,
			"url": "/v1/subscription_items?subscription=" + sub.ID}}
}

// listSubscriptions answers GET /v1/subscriptions: customer, status (all;
// default every status but canceled), limit and starting_after, newest
// first.
func (s *Server) listSubscriptions(form url.Values) map[string]any {
	var subs []*subscription
	for _, sub := range s.st.Subscriptions {
		if c := form.Get("customer"); c != "" && sub.Customer != c {
			continue
		}
		switch st := form.Get("status"); st {
		case "all":
		case "":
			if sub.Status == "canceled" || sub.Status == "incomplete_expired" {
				continue
			}
		default:
			if sub.Status != st {
				continue
			}
		}
		subs = append(subs, sub)
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Seq > subs[j].Seq })
	if after := form.Get("starting_after"); after != "" {
		for i, sub := range subs {
			if sub.ID == after {
				subs = subs[i+1:]
				break
			}
		}
	}
	limit, _ := strconv.Atoi(form.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 10
	}
	more := len(subs) > limit
	if more {
		subs = subs[:limit]
	}
	data := make([]any, 0, len(subs))
	for _, sub := range subs {
		data = append(data, sub.json())
	}
	return map[string]any{"object": "list", "url": "/v1/subscriptions", "has_more": more, "data": data}
}

// invoice is an invoice of sub's current period.
func (s *Server) invoice(sub *subscription, paid bool, reason string) map[string]any {
	id := newID("in")
	sub.LatestInvoice = id
	status, amountPaid := "paid", 1000
	if !paid {
		status, amountPaid = "open", 0
	}
	line := map[string]any{"id": newID("il"), "object": "line_item", "amount": 1000, "currency": "usd",
		"price": map[string]any{"id": sub.PriceID, "object": "price"}, "subscription": sub.ID,
		"period": map[string]any{"start": sub.PeriodStart, "end": sub.PeriodEnd}, "quantity": 1}
	return map[string]any{"id": id, "object": "invoice", "customer": sub.Customer, "subscription": sub.ID,
		"status": status, "paid": paid, "billing_reason": reason, "amount_due": 1000, "amount_paid": amountPaid,
		"amount_remaining": 1000 - amountPaid, "currency": "usd", "created": unix(s.opt.Now()),
		"period_start": sub.PeriodStart, "period_end": sub.PeriodEnd, "attempt_count": 1, "livemode": false,
		"hosted_invoice_url": s.opt.PublicURL + Prefix + "/invoice/" + id,
		"lines":              map[string]any{"object": "list", "data": []any{line}, "has_more": false},
		"parent": map[string]any{"type": "subscription_details",
			"subscription_details": map[string]any{"subscription": sub.ID, "metadata": sub.Metadata}}}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
