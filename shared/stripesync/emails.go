package stripesync

import (
	"strconv"
	"time"
)

// The transactional email kinds (config.EmailKinds).
const (
	EmailWelcome               = "welcome"
	EmailPaymentFailed         = "payment_failed"
	EmailCancellationScheduled = "cancellation_scheduled"
	EmailSubscriptionEnded     = "subscription_ended"
)

// DefaultPortalPath is the app page that opens the billing portal.
const DefaultPortalPath = "/account"

// EmailFreshness is how long after a transition its email is still sent:
// a state whose transition (the subscription's creation for a welcome,
// canceled_at for a scheduled cancel, ended_at for an end) is older than
// this when the state was read (event.created, or Stripe's read time) is
// old history seen for the first time (a subscriber from before the
// cutover, a full reconcile, a success-page sync of a long history) and
// sends nothing. 72 hours covers Stripe's retries of a late event (they
// carry the event's own created time) and a reconcile run a day or two
// after a missed webhook.
const EmailFreshness = 72 * time.Hour

// fresh reports whether a transition at t is recent at stateAt; an unknown
// time (an object without it) counts as recent.
func fresh(t *time.Time, stateAt time.Time) bool {
	if t == nil || t.IsZero() || stateAt.IsZero() {
		return true
	}
	return stateAt.Sub(*t) <= EmailFreshness
}

// SubscriptionEmails are the emails a subscription state calls for. They
// depend on the object and its read time alone, never on what is stored,
// so that every delivery order enqueues the same set, and the dedupe keys
// make each one once. Each is sent only when its transition happened
// within EmailFreshness of the state's time (see there):
//
//   - welcome:<sub> when it is active or trialing (its first activation),
//     created within EmailFreshness;
//   - cancellation_scheduled:<sub>:<unix time> while it is active,
//     trialing or past_due with a scheduled end; the time is canceled_at
//     (when the cancel was requested), else the end itself, so a cancel,
//     resume and cancel again is two emails; canceled_at within
//     EmailFreshness;
//   - subscription_ended:<sub> when it is canceled, ended_at (else
//     canceled_at) within EmailFreshness.
func (s *Syncer) SubscriptionEmails(st State) []Email {
	var out []Email
	plan, _ := s.Catalog.Plan(st.Plan)
	base := func(kind, key string) Email {
		return Email{Kind: kind, DedupeKey: key, SubscriptionID: st.ID, CustomerID: st.CustomerID,
			TemplateData: map[string]any{"plan": st.Plan, "plan_name": plan.Name, "subscription_id": st.ID}}
	}
	created := &st.Created
	switch st.Status {
	case "active", "trialing":
		if !fresh(created, st.StateAt) {
			break
		}
		e := base(EmailWelcome, EmailWelcome+":"+st.ID)
		e.TemplateData["status"] = st.Status
		e.TemplateData["current_period_end"] = rfc3339(st.CurrentPeriodEnd)
		e.TemplateData["trial_end"] = rfc3339(st.TrialEnd)
		out = append(out, e)
	}
	switch st.Status {
	case "active", "trialing", "past_due":
		if end := st.ScheduledEnd(); end != nil && fresh(st.CanceledAt, st.StateAt) {
			at := end
			if st.CanceledAt != nil {
				at = st.CanceledAt
			}
			e := base(EmailCancellationScheduled,
				EmailCancellationScheduled+":"+st.ID+":"+strconv.FormatInt(at.Unix(), 10))
			e.TemplateData["access_until"] = rfc3339(end)
			e.TemplateData["current_period_end"] = rfc3339(st.CurrentPeriodEnd)
			e.TemplateData["portal_path"] = s.portalPath()
			out = append(out, e)
		}
	case "canceled":
		if !fresh(firstTime(st.EndedAt, st.CanceledAt), st.StateAt) {
			break
		}
		e := base(EmailSubscriptionEnded, EmailSubscriptionEnded+":"+st.ID)
		e.TemplateData["ended_at"] = rfc3339(firstTime(st.EndedAt, st.CanceledAt))
		out = append(out, e)
	}
	return out
}

// PaymentFailedEmail is the email of an invoice.payment_failed event, once
// per invoice and attempt, with the path of the app page that opens the
// billing portal (a portal session URL would expire before it is read).
func (s *Syncer) PaymentFailedEmail(inv Invoice) Email {
	return Email{Kind: EmailPaymentFailed,
		DedupeKey:      EmailPaymentFailed + ":" + inv.ID + ":" + strconv.FormatInt(inv.AttemptCount, 10),
		SubscriptionID: inv.SubscriptionID, CustomerID: inv.CustomerID,
		TemplateData: map[string]any{
			"invoice_id": inv.ID, "subscription_id": inv.SubscriptionID, "attempt_count": inv.AttemptCount,
			"amount_due": inv.AmountDue, "currency": inv.Currency,
			"next_payment_attempt": rfc3339(inv.NextPaymentAttempt), "portal_path": s.portalPath(),
		}}
}

func (s *Syncer) portalPath() string {
	if s.PortalPath != "" {
		return s.PortalPath
	}
	return DefaultPortalPath
}

func rfc3339(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func firstTime(ts ...*time.Time) *time.Time {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}
