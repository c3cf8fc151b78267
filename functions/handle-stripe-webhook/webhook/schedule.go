package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/httpkit"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// The subscription schedule events (change-plan's downgrades at the period
// end) and the pending-update events of an upgrade whose payment is due.
const (
	TypeScheduleCreated   = "subscription_schedule.created"
	TypeScheduleUpdated   = "subscription_schedule.updated"
	TypeScheduleReleased  = "subscription_schedule.released"
	TypeScheduleCanceled  = "subscription_schedule.canceled"
	TypeScheduleCompleted = "subscription_schedule.completed"
	TypeScheduleAborted   = "subscription_schedule.aborted"

	TypePendingUpdateApplied = "customer.subscription.pending_update_applied"
	TypePendingUpdateExpired = "customer.subscription.pending_update_expired"
)

// ScheduleFetcher reads a subscription schedule from Stripe: its raw JSON
// and a lower bound of Stripe's read (stripeclient.ReadTime).
type ScheduleFetcher interface {
	FetchSchedule(ctx context.Context, id string) (raw []byte, at time.Time, err error)
}

// scheduleEvent applies a subscription_schedule.* event through
// billing_apply_schedule. An event of the stored state's second cannot be
// ordered by its time: the schedule is fetched from Stripe and applied in
// its place (once more after a wait when that read is not later either,
// then 503 for Stripe to deliver the event again).
func (h *handler) scheduleEvent(ctx context.Context, ev stripesync.Event, payload json.RawMessage) (stripesync.ApplyResult, error) {
	res, err := h.o.Syncer.ApplySchedule(ctx, &ev, payload, ev.Object, ev.Created, stripesync.SourceEvent)
	if errors.Is(err, stripesync.ErrUnreadable) {
		return stripesync.ApplyResult{}, fmt.Errorf("%w: %w", errBadObject, err)
	}
	for attempt := 1; err == nil && res.Status == "needs_fetch"; attempt++ {
		if attempt == 3 {
			return stripesync.ApplyResult{}, httpkit.Unavailable(fmt.Errorf(
				"webhook: Stripe's answers for schedule %s are not later than the stored state; Stripe will deliver the event again", res.NeedsFetch))
		}
		fetcher, ok := h.o.Fetcher.(ScheduleFetcher)
		if !ok {
			return stripesync.ApplyResult{}, errors.New("webhook: no Stripe schedule fetcher configured")
		}
		if attempt == 2 {
			if err := sleep(ctx, time.Second); err != nil {
				return stripesync.ApplyResult{}, httpkit.Unavailable(err)
			}
		}
		httpkit.Logger(ctx).InfoContext(ctx, "webhook: fetching the subscription schedule to order the event", "schedule_id", res.NeedsFetch)
		raw, at, ferr := fetcher.FetchSchedule(ctx, res.NeedsFetch)
		if ferr != nil {
			return stripesync.ApplyResult{}, ferr
		}
		res, err = h.o.Syncer.ApplySchedule(ctx, &ev, payload, raw, at, stripesync.SourceFetch)
	}
	if err != nil {
		return stripesync.ApplyResult{}, err
	}
	return stripesync.ApplyResult{Status: res.Status, Duplicate: res.Status == "duplicate", Subscription: "none",
		UserIDs: []string{}, EmailIDs: []int64{}}, nil
}

// FetchSchedule implements ScheduleFetcher.
func (f StripeFetcher) FetchSchedule(ctx context.Context, id string) ([]byte, time.Time, error) {
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	params := &stripe.SubscriptionScheduleParams{}
	params.Context = ctx
	sent := now()
	sc, err := f.API.SubscriptionSchedules.Get(id, params)
	received := now()
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
			return nil, time.Time{}, fmt.Errorf("%w: schedule %s", ErrNotFound, id)
		}
		return nil, time.Time{}, stripeclient.Error(ctx, "retrieve subscription schedule", err)
	}
	if sc.LastResponse == nil || len(sc.LastResponse.RawJSON) == 0 {
		return nil, time.Time{}, fmt.Errorf("webhook: stripe answered schedule %s without a body", id)
	}
	return sc.LastResponse.RawJSON, stripeclient.ReadTime(sc.LastResponse.Header, sent, received), nil
}
