package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"billing/shared/httpkit"
	"billing/shared/store"
	"billing/shared/stripesync"
)

// TypeCustomerDeleted is a Stripe customer deleted in Stripe (Dashboard, a
// data-deletion request, the API).
const TypeCustomerDeleted = "customer.deleted"

// customerDeleted unlinks the deleted customer from its user
// (billing_unlink_customer: the profile forgets it, so that the user's
// next checkout creates a new customer; its subscriptions stay as the
// user's history, and Stripe's events of their cancellation apply as
// usual), then records the event. The unlink comes first and is
// idempotent: when recording fails, Stripe's retry unlinks again
// (harmless) and records it; a duplicate delivery unlinks only a profile
// still linked to that customer, which a new checkout never is.
func (h *handler) customerDeleted(ctx context.Context, ev stripesync.Event, payload json.RawMessage) (stripesync.ApplyResult, error) {
	id := idOf(ev.Object)
	if !strings.HasPrefix(id, "cus_") {
		return stripesync.ApplyResult{}, fmt.Errorf("%w: customer.deleted without a customer ID", errBadObject)
	}
	var un struct {
		Unlinked bool   `json:"unlinked"`
		UserID   string `json:"user_id"`
	}
	err := h.o.Syncer.Store.Call(ctx, "billing_unlink_customer",
		[]store.Arg{{Name: "p_customer_id", Value: id}}, &un)
	if err != nil {
		return stripesync.ApplyResult{}, err
	}
	if un.Unlinked {
		httpkit.Logger(ctx).InfoContext(ctx, "webhook: deleted Stripe customer unlinked from its user",
			"customer_id", id, "user_id", un.UserID)
	}
	res, err := h.o.Syncer.Apply(ctx, &ev, payload, stripesync.Effects{CustomerID: id})
	if err == nil && un.Unlinked && res.Status == "processed" {
		res.Link = "unlinked"
	}
	return res, err
}
