package stripetest

import (
	"time"
)

// Subscription is the state a test wants a subscription answer from
// stripe-mock to carry. Zero fields are left as stripe-mock answered them,
// except CancelAt, which is set to null when nil (stripe-mock's fixture has
// a cancel_at in 2009, which would end any access at once).
type Subscription struct {
	ID, CustomerID, Status, PriceID string
	// UserID goes into metadata.supabase_uid.
	UserID             string
	CurrentPeriodStart time.Time
	CurrentPeriodEnd   time.Time
	CancelAt           *time.Time
	Created            time.Time
	// CancelAtPeriodEndFromRequest makes cancel_at_period_end what the
	// request sent (stripe-mock echoes it already; this keeps it explicit).
	CancelAtPeriodEndFromRequest bool
}

// SetSubscription writes s into body, a subscription object as stripe-mock
// answers it (API version 2023-10-16: periods at the top level, the price
// on items.data[].price), and clears the fixture's canceled_at and
// ended_at. The request's cancellation_details are copied into the answer,
// as Stripe does.
func SetSubscription(req Request, body map[string]any, s Subscription) {
	set := func(k string, v any) { body[k] = v }
	if s.ID != "" {
		set("id", s.ID)
	}
	if s.CustomerID != "" {
		set("customer", s.CustomerID)
	}
	if s.Status != "" {
		set("status", s.Status)
	}
	if !s.CurrentPeriodStart.IsZero() {
		set("current_period_start", s.CurrentPeriodStart.Unix())
	}
	if !s.CurrentPeriodEnd.IsZero() {
		set("current_period_end", s.CurrentPeriodEnd.Unix())
	}
	if !s.Created.IsZero() {
		set("created", s.Created.Unix())
		set("start_date", s.Created.Unix())
	}
	if s.CancelAt != nil {
		set("cancel_at", s.CancelAt.Unix())
	} else {
		set("cancel_at", nil)
	}
	set("canceled_at", nil)
	set("ended_at", nil)
	if s.CancelAtPeriodEndFromRequest {
		set("cancel_at_period_end", req.Form.Get("cancel_at_period_end") == "true")
	}
	if s.UserID != "" {
		md, _ := body["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
		}
		md["supabase_uid"] = s.UserID
		body["metadata"] = md
	}
	details := map[string]any{"comment": nil, "feedback": nil, "reason": nil}
	if v := req.Form.Get("cancellation_details[feedback]"); v != "" {
		details["feedback"] = v
	}
	if v := req.Form.Get("cancellation_details[comment]"); v != "" {
		details["comment"] = v
	}
	if req.Form.Get("cancel_at_period_end") == "true" {
		details["reason"] = "cancellation_requested"
	}
	body["cancellation_details"] = details
	if s.PriceID != "" {
		setPrice(body, s.PriceID)
	}
}

// setPrice puts priceID on every item of the subscription (price.id and the
// legacy plan.id) and on the legacy top-level plan.
func setPrice(body map[string]any, priceID string) {
	if items, ok := body["items"].(map[string]any); ok {
		if data, ok := items["data"].([]any); ok {
			for _, it := range data {
				item, ok := it.(map[string]any)
				if !ok {
					continue
				}
				for _, k := range []string{"price", "plan"} {
					if obj, ok := item[k].(map[string]any); ok {
						obj["id"] = priceID
					}
				}
			}
		}
	}
	if plan, ok := body["plan"].(map[string]any); ok {
		plan["id"] = priceID
	}
}
