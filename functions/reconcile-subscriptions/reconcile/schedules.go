package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/httpkit"
	"billing/shared/store"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// ScheduleGetter retrieves subscription schedules; a Stripe that has it
// (StripeAPI does) makes reconcile also sync the schedule every listed
// subscription names (change-plan's downgrades at the period end), so that
// a scheduled change whose webhook event was missed shows in
// check-subscription.
type ScheduleGetter interface {
	GetSchedule(ctx context.Context, id string) (raw json.RawMessage, stateAt time.Time, err error)
}

// ScheduleApplier applies a schedule object (stripesync.Syncer); a Syncer
// without it leaves schedules alone.
type ScheduleApplier interface {
	ApplySchedule(ctx context.Context, ev *stripesync.Event, payload json.RawMessage, raw []byte, stateAt time.Time, source string) (stripesync.ScheduleResult, error)
}

// GetSchedule retrieves one subscription schedule's raw JSON.
func (s *StripeAPI) GetSchedule(ctx context.Context, id string) (json.RawMessage, time.Time, error) {
	params := &stripe.SubscriptionScheduleParams{}
	params.Context = ctx
	sent := s.now()
	sc, err := s.API.SubscriptionSchedules.Get(id, params)
	received := s.now()
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
			return nil, time.Time{}, fmt.Errorf("reconcile: schedule %s not found in Stripe", id)
		}
		return nil, time.Time{}, stripeclient.Error(ctx, "retrieve subscription schedule", err)
	}
	if sc.LastResponse == nil {
		return nil, time.Time{}, errors.New("reconcile: a Stripe answer without its response")
	}
	return sc.LastResponse.RawJSON, stripeclient.ReadTime(sc.LastResponse.Header, sent, received), nil
}

// syncSchedules applies (when the run applies) the schedule each of subs
// names, through billing_apply_schedule as an API read: a state not later
// than the stored one is left alone. A failure is reported on the
// subscription and the run goes on; an unreachable database stops it.
func (u *run) syncSchedules(ctx context.Context, subs []resolved) error {
	getter, ok := u.r.Stripe.(ScheduleGetter)
	applier, canApply := u.r.Syncer.(ScheduleApplier)
	if !ok || !canApply || !u.opt.Apply {
		return nil
	}
	for _, s := range subs {
		id := stripesync.ScheduleIDOf(s.raw)
		if id == "" {
			continue
		}
		raw, at, err := getter.GetSchedule(ctx, id)
		if err == nil {
			var res stripesync.ScheduleResult
			res, err = applier.ApplySchedule(ctx, nil, nil, raw, at, stripesync.SourceAPI)
			if err == nil {
				httpkit.Logger(ctx).InfoContext(ctx, "reconcile: subscription schedule synced",
					"schedule_id", id, "subscription_id", s.state.ID, "result", res.Schedule)
			}
		}
		if err != nil {
			if store.IsUnavailable(err) {
				return err
			}
			u.rep.Errors = append(u.rep.Errors, ItemError{SubscriptionID: s.state.ID, Error: err.Error()})
		}
	}
	return nil
}
