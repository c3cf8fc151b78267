package checkout

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/auth"
	"billing/shared/httpkit"
	"billing/shared/store"
	"billing/shared/stripeclient"
)

// MetadataUserID is the metadata key that carries the Supabase user ID on
// the customer, the Checkout Session and the subscription.
const MetadataUserID = "supabase_uid"

// CodeCheckoutInProgress is the 409 error code of a call that waited in vain
// for another checkout of the same user to finish.
const CodeCheckoutInProgress = "checkout_in_progress"

// CustomerIdempotencyKey is the idempotency key of the user's customer
// creation: derived from the user, so a retry (or a second function
// instance) within Stripe's 24 hours gets the same customer back.
func CustomerIdempotencyKey(userID string) string { return "customer-create:" + userID }

// ReplacementIdempotencyKey is the idempotency key of the customer that
// replaces deleted, one deleted in Stripe: its own (the user's first key
// would answer with the deleted customer for 24 hours), and the same for
// every retry of that replacement.
func ReplacementIdempotencyKey(userID, deleted string) string {
	return "customer-create:" + userID + ":replacing:" + deleted
}

// lease is billing_checkout_lock's answer.
type lease struct {
	Acquired             bool   `json:"acquired"`
	Token                string `json:"token"`
	UnknownUser          bool   `json:"unknown_user"`
	StripeCustomerID     string `json:"stripe_customer_id"`
	BlockingSubscription string `json:"blocking_subscription"`
	BlockingStatus       string `json:"blocking_status"`
}

// acquire takes the user's checkout lease, polling while another checkout
// of the same user holds it, for at most LeaseWait.
func (h *handler) acquire(ctx context.Context, userID string) (lease, error) {
	deadline := time.Now().Add(h.opt.LeaseWait)
	ttl := int(h.opt.LeaseTTL / time.Second)
	if ttl < 1 {
		ttl = 1
	}
	for {
		var l lease
		err := h.db.Call(ctx, "billing_checkout_lock",
			[]store.Arg{{Name: "p_user_id", Value: userID}, {Name: "p_ttl_seconds", Value: ttl},
				{Name: "p_livemode", Value: h.catalog.Mode == "live"}}, &l)
		if err != nil {
			return l, store.HTTPError(err)
		}
		switch {
		case l.UnknownUser:
			return l, httpkit.NewError(http.StatusUnauthorized, httpkit.CodeInvalidToken,
				"The token's user does not exist (any more); sign in again.")
		case l.Acquired:
			return l, nil
		case time.Now().After(deadline):
			httpkit.Logger(ctx).WarnContext(ctx, "checkout lease not acquired in time", "user_id", userID)
			return l, httpkit.NewError(http.StatusConflict, CodeCheckoutInProgress,
				"Another checkout for this account is being started; wait a moment and try again.")
		}
		t := time.NewTimer(h.opt.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return l, httpkit.Unavailable(ctx.Err())
		case <-t.C:
		}
	}
}

// release gives the lease back; it runs even when the request was canceled,
// and a failure only delays the user's next checkout until the TTL.
func (h *handler) release(ctx context.Context, userID string, l lease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := h.db.Call(ctx, "billing_checkout_unlock",
		[]store.Arg{{Name: "p_user_id", Value: userID}, {Name: "p_token", Value: l.Token}}, nil)
	if err != nil {
		httpkit.Logger(ctx).WarnContext(ctx, "checkout lease not released", "user_id", userID, "error", err.Error())
	}
}

// createCustomer creates the user's Stripe customer (email from the token,
// user ID in metadata, an idempotency key derived from the user, key) and links
// it to the profile at once. When a customer was linked meanwhile, the
// stored one wins.
func (h *handler) createCustomer(ctx context.Context, user auth.User, key string) (string, error) {
	p := &stripe.CustomerParams{}
	p.Context = ctx
	if user.Email != "" {
		p.Email = stripe.String(user.Email)
	}
	p.AddMetadata(MetadataUserID, user.ID)
	p.SetIdempotencyKey(key)
	c, err := h.customers.New(p)
	if err != nil {
		return "", stripeclient.Error(ctx, "create customer", err)
	}
	var link struct {
		StripeCustomerID string `json:"stripe_customer_id"`
		Linked           bool   `json:"linked"`
	}
	err = h.db.Call(ctx, "billing_checkout_link_customer",
		[]store.Arg{{Name: "p_user_id", Value: user.ID}, {Name: "p_customer_id", Value: c.ID}}, &link)
	if err != nil {
		return "", store.HTTPError(err)
	}
	log := httpkit.Logger(ctx)
	if !link.Linked {
		log.WarnContext(ctx, "stripe customer created but another one is linked; using the linked one",
			"user_id", user.ID, "created_customer_id", c.ID, "customer_id", link.StripeCustomerID)
	} else {
		log.InfoContext(ctx, "stripe customer created", "user_id", user.ID, "customer_id", c.ID)
	}
	if link.StripeCustomerID == "" {
		return "", httpkit.Internal(errors.New("billing_checkout_link_customer returned no customer"))
	}
	return link.StripeCustomerID, nil
}

// unlink forgets the user's stored customer, deleted in Stripe
// (billing_unlink_customer keeps its subscriptions as the user's history).
func (h *handler) unlink(ctx context.Context, userID, customer string) error {
	var res struct {
		Unlinked bool `json:"unlinked"`
	}
	err := h.db.Call(ctx, "billing_unlink_customer",
		[]store.Arg{{Name: "p_customer_id", Value: customer}, {Name: "p_user_id", Value: userID}}, &res)
	if err != nil {
		return store.HTTPError(err)
	}
	httpkit.Logger(ctx).InfoContext(ctx, "stripe customer unlinked", "user_id", userID,
		"customer_id", customer, "unlinked", res.Unlinked)
	return nil
}
