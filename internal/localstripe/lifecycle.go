package localstripe

import (
	"errors"
	"net/url"
	"time"
)

// Errors of the control operations.
var (
	// ErrNotFound is an unknown Checkout Session, subscription or user.
	ErrNotFound = errors.New("not found")
	// ErrState is an operation the object's state does not allow.
	ErrState = errors.New("not possible in this state")
)

// period is the length of one billing period: a calendar month.
func period(start time.Time) time.Time { return start.AddDate(0, 1, 0) }

// updateSubscription applies POST /v1/subscriptions/{id}: a scheduled
// cancel (cancel_at_period_end, cancel_at, cancellation_details), its
// undoing, a plan change (items[0][price]) and metadata. It returns the
// customer.subscription.updated event when anything changed.
func (s *Server) updateSubscription(sub *subscription, form url.Values) []event {
	before := sub.json()
	now := unix(s.opt.Now())
	changed := map[string]any{}
	if v := form.Get("cancel_at_period_end"); v != "" && sub.Status != "canceled" {
		on := v == "true"
		if on != sub.CancelAtPeriodEnd {
			changed["cancel_at_period_end"] = before["cancel_at_period_end"]
			changed["cancel_at"] = before["cancel_at"]
			changed["canceled_at"] = before["canceled_at"]
			changed["cancellation_details"] = before["cancellation_details"]
		}
		sub.CancelAtPeriodEnd = on
		if on {
			end := sub.PeriodEnd
			sub.CancelAt, sub.CanceledAt = &end, &now
			sub.CancelReason = "cancellation_requested"
		} else {
			sub.CancelAt, sub.CanceledAt = nil, nil
			sub.CancelReason, sub.Feedback, sub.Comment = "", "", ""
		}
	}
	if v, ok := form["cancel_at"]; ok && len(v) > 0 && sub.Status != "canceled" {
		changed["cancel_at"] = before["cancel_at"]
		if v[0] == "" {
			sub.CancelAt = nil
		} else if at, err := parseInt(v[0]); err == nil {
			sub.CancelAt, sub.CanceledAt = &at, &now
			sub.CancelReason = "cancellation_requested"
		}
	}
	if v := form.Get("cancellation_details[feedback]"); v != "" {
		sub.Feedback = v
	}
	if v := form.Get("cancellation_details[comment]"); v != "" {
		sub.Comment = v
	}
	if p := form.Get("items[0][price]"); p != "" && p != sub.PriceID {
		changed["items"] = before["items"]
		sub.PriceID = p
	}
	if md := metadata(form, "metadata"); len(md) > 0 {
		changed["metadata"] = before["metadata"]
		for k, v := range md {
			if v == "" {
				delete(sub.Metadata, k)
			} else {
				sub.Metadata[k] = v
			}
		}
	}
	if len(changed) == 0 {
		return nil
	}
	return []event{s.newEvent("customer.subscription.updated", sub.json(), changed)}
}

// endSubscription cancels sub now (DELETE, or a scheduled cancel reaching
// its end): customer.subscription.deleted.
func (s *Server) endSubscription(sub *subscription) []event {
	if sub.Status == "canceled" {
		return nil
	}
	now := unix(s.opt.Now())
	sub.Status = "canceled"
	sub.EndedAt = &now
	if sub.CanceledAt == nil {
		sub.CanceledAt = &now
	}
	if sub.PeriodEnd > now {
		sub.PeriodEnd = now
	}
	return []event{s.newEvent("customer.subscription.deleted", sub.json(), nil)}
}

// Pay completes the open Checkout Session id (or, with id empty, the newest
// open one of userID) as a paying customer would: it creates the
// subscription (trialing with the session's trial days, else active, for a
// month from now) and sends customer.subscription.created, invoice.paid and
// checkout.session.completed, waiting until the webhook answered them.
func (s *Server) Pay(id, userID string) (PayResult, error) {
	s.mu.Lock()
	cs := s.findSession(id, userID)
	if cs == nil {
		s.mu.Unlock()
		return PayResult{}, ErrNotFound
	}
	if cs.Status != "open" {
		s.mu.Unlock()
		return PayResult{}, ErrState
	}
	now := s.opt.Now()
	sub := &subscription{ID: newID("sub"), Customer: cs.Customer, Status: "active", PriceID: cs.PriceID,
		ItemID: newID("si"), Metadata: cs.SubscriptionMetadata, Created: unix(now), PeriodStart: unix(now),
		PeriodEnd: unix(period(now)), Seq: s.next()}
	if sub.Metadata == nil {
		sub.Metadata = map[string]string{}
	}
	if cs.TrialDays > 0 {
		end := unix(now.AddDate(0, 0, cs.TrialDays))
		start := unix(now)
		sub.Status, sub.TrialStart, sub.TrialEnd, sub.PeriodEnd = "trialing", &start, &end, end
	}
	s.st.Subscriptions[sub.ID] = sub
	cs.Status, cs.Subscription = "complete", sub.ID
	inv := s.invoice(sub, true, "subscription_create")
	events := []event{
		s.newEvent("customer.subscription.created", sub.json(), nil),
		s.newEvent("invoice.paid", inv, nil),
		s.newEvent("checkout.session.completed", cs.json(), nil),
	}
	err := s.save()
	res := PayResult{SessionID: cs.ID, SubscriptionID: sub.ID, SuccessURL: cs.SuccessURL}
	s.mu.Unlock()
	if err != nil {
		return res, err
	}
	res.Deliveries = s.send(events)
	return res, nil
}

// Outcome says how Advance ends a period.
type Outcome string

// The outcomes of Advance.
const (
	// Renew pays the next period (or ends a scheduled cancel).
	Renew Outcome = "renew"
	// Fail fails the renewal's payment: past_due.
	Fail Outcome = "fail"
)

// Advance moves the clock of subscription id (or, with id empty, of
// userID's newest one that has not ended) to the end of its period: a
// scheduled cancel ends it (customer.subscription.deleted); otherwise the
// renewal is paid (invoice.paid, a new period) or, with Fail, fails
// (invoice.payment_failed, past_due). It waits until the webhook answered.
func (s *Server) Advance(id, userID string, outcome Outcome) (AdvanceResult, error) {
	s.mu.Lock()
	sub := s.findSubscription(id, userID)
	if sub == nil {
		s.mu.Unlock()
		return AdvanceResult{}, ErrNotFound
	}
	if sub.Status == "canceled" || sub.Status == "incomplete_expired" {
		s.mu.Unlock()
		return AdvanceResult{}, ErrState
	}
	var events []event
	now := s.opt.Now()
	if sub.CancelAtPeriodEnd || sub.CancelAt != nil {
		events = s.endSubscription(sub)
	} else {
		before := sub.json()
		changed := map[string]any{"current_period_start": before["current_period_start"],
			"current_period_end": before["current_period_end"], "status": before["status"]}
		sub.PeriodStart, sub.PeriodEnd = unix(now), unix(period(now))
		sub.TrialEnd = nil
		if sub.TrialStart != nil {
			t := unix(now)
			sub.TrialEnd = &t
		}
		if outcome == Fail {
			sub.Status = "past_due"
			inv := s.invoice(sub, false, "subscription_cycle")
			events = []event{s.newEvent("invoice.payment_failed", inv, nil),
				s.newEvent("customer.subscription.updated", sub.json(), changed)}
		} else {
			sub.Status = "active"
			inv := s.invoice(sub, true, "subscription_cycle")
			events = []event{s.newEvent("invoice.paid", inv, nil),
				s.newEvent("customer.subscription.updated", sub.json(), changed)}
		}
	}
	err := s.save()
	res := AdvanceResult{SubscriptionID: sub.ID, Status: sub.Status}
	s.mu.Unlock()
	if err != nil {
		return res, err
	}
	res.Deliveries = s.send(events)
	return res, nil
}

// ChangePrice moves subscription id (or userID's newest one that has not
// ended) to price, as a plan change in the Billing Portal does, and sends
// customer.subscription.updated, waiting until the webhook answered.
func (s *Server) ChangePrice(id, userID, price string) (AdvanceResult, error) {
	s.mu.Lock()
	sub := s.findSubscription(id, userID)
	if sub == nil {
		s.mu.Unlock()
		return AdvanceResult{}, ErrNotFound
	}
	if sub.Status == "canceled" || price == "" || price == sub.PriceID {
		s.mu.Unlock()
		return AdvanceResult{}, ErrState
	}
	before := sub.json()
	sub.PriceID = price
	events := []event{s.newEvent("customer.subscription.updated", sub.json(), map[string]any{"items": before["items"]})}
	err := s.save()
	res := AdvanceResult{SubscriptionID: sub.ID, Status: sub.Status}
	s.mu.Unlock()
	if err != nil {
		return res, err
	}
	res.Deliveries = s.send(events)
	return res, nil
}

// PayResult is what Pay did.
type PayResult struct {
	SessionID      string     `json:"sessionId"`
	SubscriptionID string     `json:"subscriptionId"`
	SuccessURL     string     `json:"successUrl"`
	Deliveries     []Delivery `json:"deliveries"`
}

// AdvanceResult is what Advance did.
type AdvanceResult struct {
	SubscriptionID string     `json:"subscriptionId"`
	Status         string     `json:"status"`
	Deliveries     []Delivery `json:"deliveries"`
}

// findSession is id, or userID's newest open session; the caller holds s.mu.
func (s *Server) findSession(id, userID string) *session {
	if id != "" {
		return s.st.Sessions[id]
	}
	var best *session
	for _, cs := range s.st.Sessions {
		if cs.Status == "open" && s.ownedBy(cs.Customer, cs.Metadata, userID) && (best == nil || cs.Seq > best.Seq) {
			best = cs
		}
	}
	return best
}

// findSubscription is id, or userID's newest subscription that has not
// ended; the caller holds s.mu.
func (s *Server) findSubscription(id, userID string) *subscription {
	if id != "" {
		return s.st.Subscriptions[id]
	}
	var best *subscription
	for _, sub := range s.st.Subscriptions {
		if sub.Status != "canceled" && s.ownedBy(sub.Customer, sub.Metadata, userID) && (best == nil || sub.Seq > best.Seq) {
			best = sub
		}
	}
	return best
}

// ownedBy reports whether an object of customerID with md belongs to
// userID (metadata.supabase_uid on it or on its customer).
func (s *Server) ownedBy(customerID string, md map[string]string, userID string) bool {
	if userID == "" {
		return false
	}
	if md["supabase_uid"] == userID {
		return true
	}
	c := s.st.Customers[customerID]
	return c != nil && c.Metadata["supabase_uid"] == userID
}

func parseInt(s string) (int64, error) {
	var n int64
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int64(r-'0')
	}
	return n, nil
}
