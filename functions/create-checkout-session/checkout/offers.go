package checkout

import (
	"context"

	"billing/shared/store"
)

// Offers: the promotion code field and the free trial of a Checkout
// Session.
//
// Stripe's promotion code field is on when the catalog's
// "allow_promotion_codes" is set or the request asks for it
// ({"promotionCodes": true}); a promotion code itself is still checked by
// Stripe against the codes made in the Dashboard.
//
// A plan's trial_days apply only to a user who has never had a trial or a
// paid subscription: none of the user's subscriptions (by user or by
// their customer, billing_user_state) has a trial end, or a status other
// than incomplete or incomplete_expired (the two that never started). So
// a user who canceled and comes back pays from the first day. The check
// runs under the user's checkout lease, after the already-subscribed
// check.

// promotionCodes reports whether the session shows the promotion code field.
func (h *handler) promotionCodes(p Params) bool {
	return h.catalog.AllowPromotionCodes || (p.PromotionCodes != nil && *p.PromotionCodes)
}

// trialDays returns the trial the user gets on plan days: days, or 0 when
// the user had a trial or a paid subscription before.
func (h *handler) trialDays(ctx context.Context, userID string, days int) (int, error) {
	if days <= 0 {
		return 0, nil
	}
	var st store.UserState
	if err := h.db.Call(ctx, "billing_user_state", []store.Arg{{Name: "p_user_id", Value: userID}}, &st); err != nil {
		return 0, store.HTTPError(err)
	}
	if !TrialEligible(st.InMode(h.catalog.Mode)) {
		return 0, nil
	}
	return days, nil
}

// TrialEligible reports whether a user with these subscriptions may get a
// free trial: none had a trial, and none got further than incomplete
// (the caller passes the subscriptions of the deployment's Stripe mode).
func TrialEligible(subs []store.SubscriptionRow) bool {
	for _, s := range subs {
		if s.TrialEnd != nil {
			return false
		}
		if s.Status != "incomplete" && s.Status != "incomplete_expired" {
			return false
		}
	}
	return true
}
