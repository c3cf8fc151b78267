package changeplan

import (
	"context"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/access"
	"billing/shared/stripeclient"
)

// Preview is the answer to {"preview": true}: what the change costs, from
// Stripe's invoice preview. Amounts are in the currency's smallest unit
// (yen, cents), as Stripe gives them.
type Preview struct {
	// Plan is the plan changed to, CurrentPlan the subscription's plan now.
	Plan        string `json:"plan"`
	CurrentPlan string `json:"currentPlan"`
	// Change is "upgrade", "downgrade" or "cancel_scheduled_change" (back
	// to the current plan: the scheduled downgrade is removed).
	Change string `json:"change"`
	// Effective is "now" or "period_end"; EffectiveAt is when.
	Effective   string `json:"effective"`
	EffectiveAt string `json:"effectiveAt"`
	// AmountDue is what is charged now (0 for a change at the period end).
	AmountDue int64  `json:"amountDue"`
	Currency  string `json:"currency"`
	// ProrationDate is the instant the proration is computed for; send it
	// back with the change so that the charge is the one shown.
	ProrationDate int64 `json:"prorationDate"`
	// Lines are the proration lines of the preview.
	Lines []Line `json:"lines"`
	// NextRenewal is the next regular invoice after the change.
	NextRenewal *Renewal `json:"nextRenewal"`
}

// Line is one proration line: credit for unused time (negative) or the
// charge for the remaining time on the new plan.
type Line struct {
	Description string `json:"description"`
	Amount      int64  `json:"amount"`
	PeriodStart string `json:"periodStart,omitempty"`
	PeriodEnd   string `json:"periodEnd,omitempty"`
}

// Renewal is the next renewal: its amount and date.
type Renewal struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Date     string `json:"date"`
}

// prorationBehavior is how the change prorates: an upgrade invoices the
// difference at once, an immediate downgrade credits it to the next
// invoice, and a change at the period end does not prorate.
func (c change) prorationBehavior() string {
	switch {
	case c.effective == EffectivePeriodEnd || c.kind == kindCancelScheduled:
		return string(stripe.SubscriptionSchedulePhaseProrationBehaviorNone)
	case c.kind == kindUpgrade:
		return string(stripe.SubscriptionSchedulePhaseProrationBehaviorAlwaysInvoice)
	}
	return string(stripe.SubscriptionSchedulePhaseProrationBehaviorCreateProrations)
}

// preview asks Stripe for the invoice the change makes: with
// always_invoice (an upgrade) the invoice charged now; otherwise the next
// regular invoice with the new price.
func (h *handler) preview(ctx context.Context, c change, now time.Time) (Preview, error) {
	pd := now.UTC().Truncate(time.Second).Unix()
	price := c.toPrice
	if c.kind == kindCancelScheduled {
		price = c.fromPrice
	}
	params := &stripe.InvoiceUpcomingParams{
		Customer:     stripe.String(c.stripeSub.Customer.ID),
		Subscription: stripe.String(c.sub.ID),
		SubscriptionItems: []*stripe.SubscriptionItemsParams{
			{ID: stripe.String(c.item.ID), Price: stripe.String(price)},
		},
		SubscriptionProrationBehavior: stripe.String(c.prorationBehavior()),
	}
	if c.stripeSub.Customer == nil || c.stripeSub.Customer.ID == "" {
		params.Customer = stripe.String(c.sub.CustomerID)
	}
	if c.prorationBehavior() != "none" {
		params.SubscriptionProrationDate = stripe.Int64(pd)
	}
	params.Context = ctx
	inv, err := h.stripe.Invoices.Upcoming(params)
	if err != nil {
		return Preview{}, stripeclient.Error(ctx, "preview invoice", err)
	}
	periodEnd := time.Unix(c.stripeSub.CurrentPeriodEnd, 0)
	if c.stripeSub.CurrentPeriodEnd == 0 && c.sub.CurrentPeriodEnd != nil {
		periodEnd = *c.sub.CurrentPeriodEnd
	}
	pv := Preview{Plan: c.to.ID, CurrentPlan: c.sub.Plan, Change: c.kind, Effective: c.effective,
		Currency: string(inv.Currency), ProrationDate: pd, Lines: []Line{}}
	if c.effective == EffectiveNow {
		pv.EffectiveAt = access.FormatTime(time.Unix(pd, 0))
	} else {
		pv.EffectiveAt = access.FormatTime(periodEnd)
	}
	var regular int64
	var newPrice *stripe.Price
	if inv.Lines != nil {
		for _, l := range inv.Lines.Data {
			if l.Price != nil && l.Price.ID == price && newPrice == nil {
				newPrice = l.Price
			}
			if !l.Proration {
				regular += l.Amount
				continue
			}
			line := Line{Description: l.Description, Amount: l.Amount}
			if l.Period != nil {
				line.PeriodStart = access.FormatTime(time.Unix(l.Period.Start, 0))
				line.PeriodEnd = access.FormatTime(time.Unix(l.Period.End, 0))
			}
			pv.Lines = append(pv.Lines, line)
		}
	}
	renewal := &Renewal{Currency: string(inv.Currency), Date: access.FormatTime(periodEnd)}
	switch c.prorationBehavior() {
	case "always_invoice":
		// The preview is the invoice charged now.
		pv.AmountDue = inv.AmountDue
		if regular > 0 {
			renewal.Amount = regular
		} else if newPrice != nil {
			renewal.Amount = newPrice.UnitAmount * max(c.item.Quantity, 1)
		} else {
			renewal = nil
		}
	default:
		// The preview is the next regular invoice, prorations included.
		renewal.Amount = inv.AmountDue
	}
	pv.NextRenewal = renewal
	return pv, nil
}
