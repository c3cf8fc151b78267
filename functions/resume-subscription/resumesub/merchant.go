package resumesub

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/shared/auth"
)

// restoreMerchantEnd gives back the merchant's cancel_at that the user's
// cancel replaced with the period end (kept in the subscription's metadata
// under cancelsub.MetadataMerchantCancelAt): after the resume the
// subscription renews, and ends on the merchant's date again, which the
// user cannot resume. It returns the answer to apply and its exchange
// times: updated itself when there is nothing to restore, or when the
// restore failed (logged at ERROR for an operator to set the date again:
// the user's resume is done either way).
func (h *handler) restoreMerchantEnd(ctx context.Context, log *slog.Logger, updated *stripe.Subscription, sent, received time.Time) (*stripe.Subscription, time.Time, time.Time) {
	at, err := strconv.ParseInt(updated.Metadata[cancelsub.MetadataMerchantCancelAt], 10, 64)
	if err != nil || at <= updated.CurrentPeriodEnd || updated.CancelAt != 0 {
		return updated, sent, received
	}
	params := &stripe.SubscriptionParams{CancelAt: stripe.Int64(at)}
	params.Context = ctx
	params.AddMetadata(cancelsub.MetadataMerchantCancelAt, "") // an empty value unsets it
	params.SetIdempotencyKey("resume-subscription:restore:" + updated.ID + ":" + auth.NewUUID())
	sent2 := h.now()
	restored, err := h.subs.Update(updated.ID, params)
	received2 := h.now()
	if err != nil {
		log.ErrorContext(ctx, "resume: the merchant's cancel_at could not be restored; set it again in the Dashboard",
			"cancel_at", time.Unix(at, 0).UTC(), "cause", err.Error())
		return updated, sent, received
	}
	log.InfoContext(ctx, "resume: the merchant's cancel_at restored", "cancel_at", time.Unix(at, 0).UTC())
	return restored, sent2, received2
}
