package reconcile

import (
	"context"
	"errors"
	"time"

	"billing/shared/httpkit"
	"billing/shared/store"
	"billing/shared/stripesync"
)

// UserSyncInterval is how often one user's success-page sync may ask
// Stripe; calls in between answer from the database.
const UserSyncInterval = 10 * time.Second

// Outcomes of SyncUser, also sent in the X-Billing-Sync response header.
const (
	SyncSynced     = "synced"      // Stripe was asked and its state applied
	SyncSkipped    = "skipped"     // within the interval: answered from the database
	SyncNoCustomer = "no_customer" // the user has no Stripe customer yet
	SyncNoUser     = "unknown_user"
)

// readSubscription reads one subscription again for stripesync.ApplyRead.
func (r *Reconciler) readSubscription(ctx context.Context, id string) ([]byte, time.Time, error) {
	raw, at, err := r.Stripe.GetSubscription(ctx, id)
	return raw, at, err
}

// SyncUser is the success page's eager sync (known trap 11): when the
// user's interval has passed (billing_reconcile_user_begin decides, in the
// database), it lists the subscriptions of the user's own Stripe customer
// (status=all) and applies each through stripesync, then sends the emails
// those writes enqueued. It never touches another customer. A subscription
// whose price the catalog does not know is logged and skipped.
func (r *Reconciler) SyncUser(ctx context.Context, userID string, interval time.Duration) (string, error) {
	d := db{r.Store}
	begin, err := d.userBegin(ctx, userID, interval)
	if err != nil {
		return "", store.HTTPError(err)
	}
	switch {
	case begin.UnknownUser:
		return SyncNoUser, nil
	case !begin.Sync:
		return SyncSkipped, nil
	case begin.StripeCustomerID == "":
		return SyncNoCustomer, nil
	}
	log := httpkit.Logger(ctx)
	var emailIDs []int64
	applied := 0
	err = r.Stripe.ListSubscriptions(ctx, begin.StripeCustomerID, func(p Page) error {
		for _, raw := range p.Subscriptions {
			// A read that lost a same-second race with the stored state
			// is read again once (the webhook stored the second's first
			// event, and the state Stripe has now is not stored yet).
			res, err := r.Syncer.ApplyRead(ctx, raw, p.StateAt, r.readSubscription)
			if err != nil {
				var unknown *stripesync.UnknownPriceError
				if errors.As(err, &unknown) || errors.Is(err, stripesync.ErrUnreadable) {
					log.ErrorContext(ctx, "user sync: subscription skipped", "user_id", userID, "error", err.Error())
					continue
				}
				return store.HTTPError(err)
			}
			if res.Subscription == "applied" {
				applied++
			}
			emailIDs = append(emailIDs, res.EmailIDs...)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	log.InfoContext(ctx, "user sync", "user_id", userID, "applied", applied, "emails", len(emailIDs))
	if r.Mail != nil && len(emailIDs) > 0 {
		if _, err := r.Mail.SendIDs(ctx, emailIDs); err != nil {
			// The rows stay pending; the scheduled run sends them.
			log.WarnContext(ctx, "user sync: emails not sent", "user_id", userID, "error", err.Error())
		}
	}
	return SyncSynced, nil
}
