package cancelsub

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/function"
	"billing/shared/httpkit"
	"billing/shared/plans"
	"billing/shared/store"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// ScheduleReleaser releases subscription schedules (stripe-go's
// subscriptionschedule.Client).
//
// Stripe refuses to change the cancel behavior of a subscription a
// schedule manages (change-plan's downgrade at the period end), so a
// cancel first releases that schedule: the scheduled downgrade is dropped,
// the subscription keeps its plan until the period end, and then ends.
type ScheduleReleaser interface {
	Release(id string, params *stripe.SubscriptionScheduleReleaseParams) (*stripe.SubscriptionSchedule, error)
}

// ScheduleApplier stores a schedule Stripe answered with (stripesync.Syncer).
type ScheduleApplier interface {
	ApplySchedule(ctx context.Context, ev *stripesync.Event, payload json.RawMessage, raw []byte, stateAt time.Time, source string) (stripesync.ScheduleResult, error)
}

// NewWithSchedules is New with the schedule releaser a subscription on a
// schedule needs (see ScheduleReleaser); ap also stores the released
// schedule when it is a ScheduleApplier.
func NewWithSchedules(a function.Authenticator, st StateReader, subs SubscriptionUpdater, schedules ScheduleReleaser, ap Applier, cat *plans.Catalog, now func() time.Time) http.Handler {
	h := &handler{auth: a, state: st, subs: subs, schedules: schedules, apply: ap, catalog: cat, now: now}
	return httpkit.Handle(h.serve)
}

// releaseSchedule releases the live schedule of sub, if it has one.
func (h *handler) releaseSchedule(ctx context.Context, sub store.SubscriptionRow) error {
	if sub.ScheduleID == "" || h.schedules == nil {
		return nil
	}
	params := &stripe.SubscriptionScheduleReleaseParams{PreserveCancelDate: stripe.Bool(true)}
	params.Context = ctx
	params.SetIdempotencyKey("cancel-subscription:release:" + sub.ScheduleID)
	sent := h.now()
	released, err := h.schedules.Release(sub.ScheduleID, params)
	received := h.now()
	if err != nil {
		return stripeclient.Error(ctx, "release subscription schedule", err)
	}
	httpkit.Logger(ctx).InfoContext(ctx, "cancel: released the subscription's schedule (its scheduled plan change is dropped)",
		"schedule_id", sub.ScheduleID)
	ap, ok := h.apply.(ScheduleApplier)
	if !ok || released.LastResponse == nil || len(released.LastResponse.RawJSON) == 0 {
		return nil
	}
	at := stripeclient.ReadTime(released.LastResponse.Header, sent, received)
	if _, err := ap.ApplySchedule(ctx, nil, nil, released.LastResponse.RawJSON, at, stripesync.SourceAPI); err != nil {
		return store.HTTPError(err)
	}
	return nil
}
