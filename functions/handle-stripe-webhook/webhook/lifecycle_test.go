package webhook_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// simEvent is one signed-to-be event of a simulated lifecycle. Events of
// phase 1 (a later subscription on a second customer) happen long after
// those of phase 0, so Stripe delivers them after.
type simEvent struct {
	id    string
	body  []byte
	phase int
}

// lifecycle is one simulated customer's Stripe history: the events Stripe
// sent, in the order they happened, and the final state of each
// subscription (what a fetch from Stripe answers once all happened).
type lifecycle struct {
	user, customer string
	// second is the other customer of the user that later subscriptions
	// use ("" when there is none): an operator relink, a checkout made
	// elsewhere. The profile stays linked to customer.
	second string
	events []simEvent
	finals map[string][]byte
	subs   []string
}

func simUser(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// generate simulates lifecycle i from base: checkout, then random plan
// changes, payment failures and recoveries, scheduled cancels and resumes,
// renewals, trials, pauses, a deletion and maybe a resubscription, in a
// quarter of the lifecycles on a second customer of the same user. Plan
// changes switch among the current prices and standard's legacy price. A
// third of the steps happen in the same second as the step before, as
// Stripe's bursts do.
func generate(r *rand.Rand, i int, base time.Time) lifecycle {
	lc := lifecycle{user: simUser(i), customer: fmt.Sprintf("cus_sim%04d", i), finals: map[string][]byte{}}
	if r.IntN(4) == 0 {
		lc.second = fmt.Sprintf("cus_sim%04db", i)
	}
	phase := 0
	shape := v2023
	if r.IntN(2) == 0 {
		shape = vBasil
	}
	metaOnSub := r.IntN(2) == 0
	t := base
	tick := func() { t = t.Add(time.Duration(r.IntN(3)) * time.Second) }
	n, invN := 0, 0
	emit := func(typ string, obj map[string]any) {
		n++
		id := fmt.Sprintf("evt_sim%04d_%03d", i, n)
		lc.events = append(lc.events, simEvent{id: id, body: envelope(id, typ, shape, t, false, obj), phase: phase})
	}
	emitSub := func(typ string, s *sub) {
		obj := s.object(shape)
		emit(typ, obj)
		lc.finals[s.ID], _ = json.Marshal(obj)
	}
	newInvoice := func(s *sub, reason, status string) *invoice {
		invN++
		return &invoice{ID: fmt.Sprintf("in_sim%04d_%d", i, invN), Customer: s.Customer, Subscription: s.ID,
			Status: status, Reason: reason, Attempt: 1}
	}
	otherPrice := func(p string) string {
		prices := []string{priceStandard, pricePremium, priceStandardLegacy}
		for {
			if q := prices[r.IntN(len(prices))]; q != p {
				return q
			}
		}
	}

	for k := 1; ; k++ {
		customer := lc.customer
		if k > 1 && lc.second != "" {
			customer, phase = lc.second, 1
		}
		s := &sub{ID: fmt.Sprintf("sub_sim%04d_%d", i, k), Customer: customer, Status: "active",
			Price: []string{priceStandard, pricePremium}[r.IntN(2)], Created: t, PeriodStart: t,
			PeriodEnd: t.Add(30 * 24 * time.Hour)}
		lc.subs = append(lc.subs, s.ID)
		if metaOnSub {
			s.UID = lc.user
		}
		if r.IntN(4) == 0 {
			s.Status, s.TrialStart, s.TrialEnd = "trialing", ptr(t), ptr(t.Add(14*24*time.Hour))
			s.PeriodEnd = *s.TrialEnd
		}
		// The checkout burst.
		emitSub("customer.subscription.created", s)
		tick()
		inv := newInvoice(s, "subscription_create", "paid")
		emit("invoice.paid", inv.object(shape))
		emit("invoice.payment_succeeded", inv.object(shape))
		tick()
		ref, meta := lc.user, ""
		switch r.IntN(3) {
		case 0:
			ref, meta = "", lc.user
		case 1:
			meta = lc.user
		}
		emit("checkout.session.completed", session(fmt.Sprintf("cs_sim%04d_%d", i, k), customer, s.ID, ref, meta))

		var failing *invoice
		ended := false
		for step, steps := 0, 2+r.IntN(7); step < steps && !ended; step++ {
			tick()
			live := s.Status == "active" || s.Status == "trialing"
			switch r.IntN(9) {
			case 0: // plan change
				if live || s.Status == "past_due" {
					s.Price = otherPrice(s.Price)
					emitSub("customer.subscription.updated", s)
				}
			case 1: // payment failure, maybe a second attempt
				if s.Status == "active" {
					failing = newInvoice(s, "subscription_cycle", "open")
					emit("invoice.payment_failed", failing.object(shape))
					s.Status = "past_due"
					emitSub("customer.subscription.updated", s)
					if r.IntN(2) == 0 {
						tick()
						failing.Attempt++
						emit("invoice.payment_failed", failing.object(shape))
					}
				}
			case 2: // recovery
				if s.Status == "past_due" && failing != nil {
					failing.Status = "paid"
					emit("invoice.paid", failing.object(shape))
					emit("invoice.payment_succeeded", failing.object(shape))
					s.Status = "active"
					emitSub("customer.subscription.updated", s)
				}
			case 3: // scheduled cancel
				if live && !s.CancelAtPeriodEnd {
					s.CancelAtPeriodEnd, s.CanceledAt, s.Reason = true, ptr(t), "cancellation_requested"
					s.Feedback = []string{"", "too_expensive", "unused"}[r.IntN(3)]
					emitSub("customer.subscription.updated", s)
				}
			case 4: // resume
				if live && s.CancelAtPeriodEnd {
					s.CancelAtPeriodEnd, s.CanceledAt, s.Reason, s.Feedback = false, nil, "", ""
					emitSub("customer.subscription.updated", s)
				}
			case 5, 6: // deletion
				s.Status, s.EndedAt = "canceled", ptr(t)
				if s.CanceledAt == nil {
					s.CanceledAt, s.Reason = ptr(t), "cancellation_requested"
				}
				emitSub("customer.subscription.deleted", s)
				ended = true
			case 7: // renewal, or the end of a trial
				if s.Status == "trialing" {
					emitSub("customer.subscription.trial_will_end", s)
					tick()
					s.Status = "active"
					emitSub("customer.subscription.updated", s)
				} else if s.Status == "active" && !s.CancelAtPeriodEnd {
					s.PeriodStart, s.PeriodEnd = s.PeriodEnd, s.PeriodEnd.Add(30*24*time.Hour)
					emit("invoice.paid", newInvoice(s, "subscription_cycle", "paid").object(shape))
					emitSub("customer.subscription.updated", s)
				}
			case 8: // pause and resume collection
				if s.Status == "active" && !s.CancelAtPeriodEnd {
					s.Status = "paused"
					emitSub("customer.subscription.paused", s)
					tick()
					s.Status = "active"
					emitSub("customer.subscription.resumed", s)
				}
			}
		}
		if !ended || r.IntN(2) == 0 {
			return lc
		}
		tick()
	}
}
