package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/shared/stripeclient"
)

// scheduleTruth is truth with subscription schedules too.
type scheduleTruth struct {
	*truth
	mu        sync.Mutex
	schedules map[string][]byte
}

func (f *scheduleTruth) FetchSchedule(_ context.Context, id string) ([]byte, time.Time, error) {
	f.fetches.Add(1)
	sent := time.Now()
	f.mu.Lock()
	raw, ok := f.schedules[id]
	f.mu.Unlock()
	if !ok {
		return nil, time.Time{}, fmt.Errorf("%w: %s", webhook.ErrNotFound, id)
	}
	h := http.Header{"Date": {time.Now().UTC().Format(http.TimeFormat)}}
	return raw, stripeclient.ReadTime(h, sent, time.Now()), nil
}

// schedulePhase is one phase of a schedule: its price and period.
type schedulePhase struct {
	Price      string
	Start, End time.Time
}

// scheduleObject renders a subscription schedule as Stripe does (phase
// item prices as IDs); current is the index of the current phase, -1 for
// none (released).
func scheduleObject(id, customer, subID, status string, current int, phases ...schedulePhase) map[string]any {
	ps := []any{}
	for _, p := range phases {
		ps = append(ps, map[string]any{"start_date": p.Start.Unix(), "end_date": p.End.Unix(),
			"proration_behavior": "none", "billing_cycle_anchor": nil, "metadata": map[string]any{},
			"items": []any{map[string]any{"price": p.Price, "plan": p.Price, "quantity": 1,
				"metadata": map[string]any{}, "billing_thresholds": nil, "tax_rates": []any{}}}})
	}
	o := map[string]any{"id": id, "object": "subscription_schedule", "customer": customer,
		"subscription": subID, "released_subscription": nil, "status": status, "livemode": false,
		"end_behavior": "release", "phases": ps, "current_phase": nil, "metadata": map[string]any{},
		"default_settings": map[string]any{"collection_method": "charge_automatically"}}
	if current >= 0 {
		o["current_phase"] = map[string]any{"start_date": phases[current].Start.Unix(), "end_date": phases[current].End.Unix()}
	}
	if status == "released" {
		o["subscription"], o["released_subscription"] = nil, subID
	}
	return o
}

// lifecycleRun is the events of one plan change and Stripe's state after
// them (what a fetch answers).
type lifecycleRun struct {
	events    [][]byte
	subs      map[string]map[string]any
	schedules map[string]map[string]any
}

// finalState is what the database holds of a customer after a run.
func finalState(e *env) string {
	e.t.Helper()
	subs := e.scalar(`select coalesce(string_agg(id || ':' || status || ':' || coalesce(plan, '-') || ':' || coalesce(price_id, '-')
		|| ':' || cancel_at_period_end || ':' || coalesce(current_period_end::text, '-'), ',' order by id), '') from subscriptions`)
	scheds := e.scalar(`select coalesce(string_agg(id || ':' || status || ':' || coalesce(subscription_id, '-') || ':' ||
		coalesce(scheduled_plan, '-') || ':' || coalesce(scheduled_change_at::text, '-'), ',' order by id), '') from subscription_schedules`)
	state := e.scalar(`select public.billing_user_state($1)::text`, user1)
	return fmt.Sprintf("subscriptions=%v schedules=%v state=%v", subs, scheds, state)
}

// runLifecycle delivers the run's events in order, then (on fresh
// databases) shuffled with duplicates for several seeds, and requires the
// same final state each time. It returns the in-order env.
func runLifecycle(t *testing.T, run lifecycleRun) *env {
	t.Helper()
	deliverAll := func(events [][]byte) *env {
		st := &scheduleTruth{truth: newTruth(), schedules: map[string][]byte{}}
		for id, o := range run.subs {
			raw, _ := json.Marshal(o)
			st.set(id, raw)
		}
		for id, o := range run.schedules {
			raw, _ := json.Marshal(o)
			st.schedules[id] = raw
		}
		e := newEnv(t, func(o *webhook.Options) { o.Fetcher = st })
		createUser(t, e.db, user1, "u1@example.com")
		for _, ev := range events {
			e.mustDeliver(ev)
		}
		return e
	}
	inOrder := deliverAll(run.events)
	want := finalState(inOrder)
	for seed := uint64(1); seed <= 3; seed++ {
		r := rand.New(rand.NewPCG(seed, 14))
		events := append([][]byte(nil), run.events...)
		for range len(run.events) {
			events = append(events, run.events[r.IntN(len(run.events))])
		}
		r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
		if got := finalState(deliverAll(events)); got != want {
			t.Errorf("seed %d: shuffled with duplicates ends in\n%s\nin order in\n%s", seed, got, want)
		}
	}
	return inOrder
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestUpgradeEventsInAnyOrder: an upgrade made at once (standard to
// premium with always_invoice): the subscription's updated event and the
// proration invoice's paid events, in any order and repeated.
func TestUpgradeEventsInAnyOrder(t *testing.T) {
	t0 := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	t1 := t0.Add(time.Hour)
	created := activeSub("sub_upg", "cus_upg", t0)
	upgraded := created
	upgraded.Price = pricePremium
	inv := invoice{ID: "in_upg_proration", Customer: "cus_upg", Subscription: "sub_upg", Status: "paid", Reason: "subscription_update", Attempt: 1}
	run := lifecycleRun{
		events: [][]byte{
			envelope("evt_upg_created", "customer.subscription.created", vBasil, t0, false, created.object(vBasil)),
			envelope("evt_upg_updated", "customer.subscription.updated", vBasil, t1, false, upgraded.object(vBasil)),
			envelope("evt_upg_paid", "invoice.paid", vBasil, t1, false, inv.object(vBasil)),
			envelope("evt_upg_succeeded", "invoice.payment_succeeded", vBasil, t1, false, inv.object(vBasil)),
		},
		subs: map[string]map[string]any{"sub_upg": upgraded.object(v2023)},
	}
	e := runLifecycle(t, run)
	if p := e.scalar(`select plan from subscriptions where id = 'sub_upg'`); p != "premium" {
		t.Fatalf("plan after the upgrade: %v", p)
	}
}

// TestPendingUpdateExpiresUnpaid: an upgrade with
// payment_behavior=pending_if_incomplete whose payment fails: the
// subscription keeps standard with a pending_update, the invoice fails,
// and the pending update expires. The user never gets premium.
func TestPendingUpdateExpiresUnpaid(t *testing.T) {
	t0 := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	created := activeSub("sub_pend", "cus_pend", t0)
	pending := created.object(v2023)
	pending["pending_update"] = map[string]any{"expires_at": t2.Unix(), "billing_cycle_anchor": nil, "trial_end": nil,
		"subscription_items": []any{map[string]any{"id": "si_pend", "object": "subscription_item",
			"price": map[string]any{"id": pricePremium, "object": "price"}, "quantity": 1}}}
	pending["latest_invoice"] = "in_pend"
	expired := created.object(v2023)
	expired["pending_update"] = nil
	inv := invoice{ID: "in_pend", Customer: "cus_pend", Subscription: "sub_pend", Status: "open", Reason: "subscription_update", Attempt: 1}
	run := lifecycleRun{
		events: [][]byte{
			envelope("evt_pend_created", "customer.subscription.created", v2023, t0, false, created.object(v2023)),
			envelope("evt_pend_updated", "customer.subscription.updated", v2023, t1, false, pending),
			envelope("evt_pend_failed", "invoice.payment_failed", v2023, t1, false, inv.object(v2023)),
			envelope("evt_pend_expired", "customer.subscription.pending_update_expired", v2023, t2, false, expired),
		},
		subs: map[string]map[string]any{"sub_pend": expired},
	}
	e := runLifecycle(t, run)
	if p := e.scalar(`select plan || ':' || status from subscriptions where id = 'sub_pend'`); p != "standard:active" {
		t.Fatalf("after the pending update expired: %v", p)
	}
	if n := e.count(`select count(*) from stripe_events where id = 'evt_pend_expired' and status = 'processed'`); n != 1 {
		t.Fatalf("pending_update_expired not recorded as processed")
	}
}

// TestSchedulePhaseChangeAtPeriodEnd: a downgrade from premium to standard
// at the period end (change-plan's schedule): the schedule is created from
// the subscription and updated with the second phase in the same second,
// then at the period end the subscription moves to standard and the
// schedule to its second phase. In any order: standard, and nothing more
// scheduled.
func TestSchedulePhaseChangeAtPeriodEnd(t *testing.T) {
	t0 := time.Now().Add(-40 * 24 * time.Hour).UTC().Truncate(time.Second)
	pe := t0.Add(30 * 24 * time.Hour)
	t1 := t0.Add(10 * 24 * time.Hour)
	premium := activeSub("sub_sch", "cus_sch", t0)
	premium.Price, premium.PeriodEnd = pricePremium, pe
	onSchedule := premium.object(vBasil)
	onSchedule["schedule"] = "sub_sched_1"
	renewed := premium
	renewed.Price, renewed.PeriodStart, renewed.PeriodEnd = priceStandard, pe, pe.Add(30*24*time.Hour)
	renewedObj := renewed.object(vBasil)
	renewedObj["schedule"] = "sub_sched_1"
	one := scheduleObject("sub_sched_1", "cus_sch", "sub_sch", "active", 0, schedulePhase{pricePremium, t0, pe})
	two := []schedulePhase{{pricePremium, t0, pe}, {priceStandard, pe, pe.Add(30 * 24 * time.Hour)}}
	scheduled := scheduleObject("sub_sched_1", "cus_sch", "sub_sch", "active", 0, two...)
	second := scheduleObject("sub_sched_1", "cus_sch", "sub_sch", "active", 1, two...)
	run := lifecycleRun{
		events: [][]byte{
			envelope("evt_sch_sub", "customer.subscription.created", vBasil, t0, false, premium.object(vBasil)),
			envelope("evt_sch_created", "subscription_schedule.created", vBasil, t1, false, one),
			envelope("evt_sch_updated", "subscription_schedule.updated", vBasil, t1, false, scheduled),
			envelope("evt_sch_subupd", "customer.subscription.updated", vBasil, t1, false, onSchedule),
			envelope("evt_sch_renewed", "customer.subscription.updated", vBasil, pe, false, renewedObj),
			envelope("evt_sch_phase", "subscription_schedule.updated", vBasil, pe, false, second),
		},
		subs:      map[string]map[string]any{"sub_sch": renewed.object(v2023)},
		schedules: map[string]map[string]any{"sub_sched_1": second},
	}
	e := runLifecycle(t, run)
	if s := e.scalar(`select plan from subscriptions where id = 'sub_sch'`); s != "standard" {
		t.Fatalf("plan after the period end: %v", s)
	}
	if s := e.scalar(`select status || ':' || coalesce(scheduled_plan, '-') from subscription_schedules where id = 'sub_sched_1'`); s != "active:-" {
		t.Fatalf("schedule after its phase change: %v", s)
	}

	// Before the period end, the state shows the scheduled downgrade.
	mid := newEnv(t, func(o *webhook.Options) {
		st := &scheduleTruth{truth: newTruth(), schedules: map[string][]byte{"sub_sched_1": mustMarshal(scheduled)}}
		o.Fetcher = st
	})
	createUser(t, mid.db, user1, "u1@example.com")
	for _, ev := range run.events[:4] {
		mid.mustDeliver(ev)
	}
	got := mid.scalar(`select (public.billing_user_state($1) -> 'subscriptions' -> 0) ->> 'scheduled_plan' || ' at ' ||
		((public.billing_user_state($1) -> 'subscriptions' -> 0) ->> 'scheduled_change_at')`, user1)
	if want := "standard at " + pe.Format(time.RFC3339); got != want {
		t.Fatalf("scheduled change before the period end: %v, want %s", got, want)
	}
}

// TestScheduleReleasedIsFinal: a released schedule (the user kept the
// higher plan) is never brought back by an older or same-second event.
func TestScheduleReleasedIsFinal(t *testing.T) {
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	pe := t0.Add(20 * 24 * time.Hour)
	premium := activeSub("sub_rel", "cus_rel", t0)
	premium.Price, premium.PeriodEnd = pricePremium, pe
	two := []schedulePhase{{pricePremium, t0, pe}, {priceStandard, pe, pe.Add(30 * 24 * time.Hour)}}
	scheduled := scheduleObject("sub_sched_rel", "cus_rel", "sub_rel", "active", 0, two...)
	released := scheduleObject("sub_sched_rel", "cus_rel", "sub_rel", "released", -1, two...)
	e := runLifecycle(t, lifecycleRun{
		events: [][]byte{
			envelope("evt_rel_sub", "customer.subscription.created", vBasil, t0, false, premium.object(vBasil)),
			envelope("evt_rel_upd", "subscription_schedule.updated", vBasil, t0.Add(time.Minute), false, scheduled),
			envelope("evt_rel_rel", "subscription_schedule.released", vBasil, t0.Add(time.Minute), false, released),
		},
		subs:      map[string]map[string]any{"sub_rel": premium.object(v2023)},
		schedules: map[string]map[string]any{"sub_sched_rel": released},
	})
	if s := e.scalar(`select status || ':' || coalesce(subscription_id, '-') from subscription_schedules`); s != "released:sub_rel" {
		t.Fatalf("schedule: %v", s)
	}
	if s := e.scalar(`select coalesce((public.billing_user_state($1) -> 'subscriptions' -> 0) ->> 'scheduled_plan', 'none')`, user1); s != "none" {
		t.Fatalf("a released schedule still shows a scheduled plan: %v", s)
	}
}
