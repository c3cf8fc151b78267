package dbcontract_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"billing/internal/testdb"

	"github.com/jackc/pgx/v5"
)

// subscriptionKeys are the keys of one subscription in billing_user_state.
var subscriptionKeys = []string{
	"id", "customer_id", "status", "price_id", "plan", "cancel_at_period_end",
	"current_period_start", "current_period_end", "cancel_at", "canceled_at", "ended_at",
	"trial_end", "created", "cancellation_reason", "livemode",
	"schedule_id", "scheduled_plan", "scheduled_change_at", // a live schedule's next plan (null when none)
}

// stateSubscription decodes one subscription of billing_user_state the way
// Go code would.
type stateSubscription struct {
	ID                 string     `json:"id"`
	CustomerID         string     `json:"customer_id"`
	Status             string     `json:"status"`
	PriceID            *string    `json:"price_id"`
	Plan               *string    `json:"plan"`
	CancelAtPeriodEnd  bool       `json:"cancel_at_period_end"`
	CurrentPeriodStart *time.Time `json:"current_period_start"`
	CurrentPeriodEnd   *time.Time `json:"current_period_end"`
	CancelAt           *time.Time `json:"cancel_at"`
	CanceledAt         *time.Time `json:"canceled_at"`
	EndedAt            *time.Time `json:"ended_at"`
	TrialEnd           *time.Time `json:"trial_end"`
	Created            *time.Time `json:"created"`
	CancellationReason *string    `json:"cancellation_reason"`
	Livemode           bool       `json:"livemode"`
}

func TestBillingUserState(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	a, b := db.CreateUser(t, "a@example.com"), db.CreateUser(t, "b@example.com")
	db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_A' where id = $1`, a)
	db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_B' where id = $1`, b)
	db.MustExec(t, `insert into public.subscriptions
		(id, user_id, customer_id, livemode, status, price_id, plan, stripe_created, state_at,
		 current_period_start, current_period_end, cancel_at_period_end, cancel_at, canceled_at, ended_at,
		 cancellation_reason)
		values
		('sub_old', $1, 'cus_A', false, 'canceled', 'price_std', 'standard', '2025-01-01T00:00:00Z', now(),
		 '2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z', false, null, '2025-01-15T12:34:56Z', '2025-02-01T00:00:00Z',
		 'cancellation_requested'),
		('sub_new', $1, 'cus_A', false, 'active', 'price_prem', 'premium', '2026-10-26T00:00:00Z', now(),
		 '2026-11-26T00:00:00Z', '2026-12-26T00:00:00Z', true, '2026-12-26T00:00:00Z', '2026-11-20T09:00:00Z', null,
		 'cancellation_requested'),
		('sub_unlinked', null, 'cus_A', false, 'incomplete', null, null, '2026-11-20T00:00:00Z', now(),
		 null, null, false, null, null, null, null),
		('sub_b', $2, 'cus_B', false, 'active', 'price_std', 'standard', '2026-11-21T00:00:00Z', now(),
		 null, null, false, null, null, null, null)`, a, b)

	var raw []byte
	err := db.AsServiceRole(t, ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `select public.billing_user_state(p_user_id => $1)`, a).Scan(&raw)
	})
	if err != nil {
		t.Fatal(err)
	}

	var shape struct {
		UserID           string            `json:"user_id"`
		StripeCustomerID *string           `json:"stripe_customer_id"`
		Subscriptions    []json.RawMessage `json:"subscriptions"`
	}
	if err := json.Unmarshal(raw, &shape); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	if shape.UserID != a || str(shape.StripeCustomerID) != "cus_A" {
		t.Errorf("user_id = %s, stripe_customer_id = %s", shape.UserID, str(shape.StripeCustomerID))
	}
	if len(shape.Subscriptions) != 3 {
		t.Fatalf("%d subscriptions, want 3 (the user's and the unlinked one of their customer): %s", len(shape.Subscriptions), raw)
	}

	ts := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	want := []stateSubscription{
		{ID: "sub_unlinked", CustomerID: "cus_A", Status: "incomplete", Created: ts("2026-11-20T00:00:00Z")},
		{ID: "sub_new", CustomerID: "cus_A", Status: "active", PriceID: ptr("price_prem"), Plan: ptr("premium"),
			CancelAtPeriodEnd: true, CurrentPeriodStart: ts("2026-11-26T00:00:00Z"), CurrentPeriodEnd: ts("2026-12-26T00:00:00Z"),
			CancelAt: ts("2026-12-26T00:00:00Z"), CanceledAt: ts("2026-11-20T09:00:00Z"), Created: ts("2026-10-26T00:00:00Z"),
			CancellationReason: ptr("cancellation_requested")},
		{ID: "sub_old", CustomerID: "cus_A", Status: "canceled", PriceID: ptr("price_std"), Plan: ptr("standard"),
			CurrentPeriodStart: ts("2025-01-01T00:00:00Z"), CurrentPeriodEnd: ts("2025-02-01T00:00:00Z"),
			CanceledAt: ts("2025-01-15T12:34:56Z"), EndedAt: ts("2025-02-01T00:00:00Z"), Created: ts("2025-01-01T00:00:00Z"),
			CancellationReason: ptr("cancellation_requested")},
	}
	for i, w := range want {
		t.Run(w.ID, func(t *testing.T) {
			var keys map[string]json.RawMessage
			if err := json.Unmarshal(shape.Subscriptions[i], &keys); err != nil {
				t.Fatal(err)
			}
			var got []string
			for k := range keys {
				got = append(got, k)
			}
			slices.Sort(got)
			wantKeys := slices.Sorted(slices.Values(subscriptionKeys))
			if !slices.Equal(got, wantKeys) {
				t.Errorf("keys = %v, want %v", got, wantKeys)
			}
			var s stateSubscription
			if err := json.Unmarshal(shape.Subscriptions[i], &s); err != nil {
				t.Fatalf("decode with time.RFC3339 times: %v", err)
			}
			if !equalSubscription(s, w) {
				t.Errorf("subscription %d =\n%s\nwant %+v", i, shape.Subscriptions[i], w)
			}
		})
	}

	t.Run("user without subscriptions or customer", func(t *testing.T) {
		for _, id := range []string{db.CreateUser(t, ""), "00000000-0000-0000-0000-000000000001"} {
			var raw []byte
			if err := db.Pool.QueryRow(ctx, `select public.billing_user_state(p_user_id => $1)::text`, id).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			want := `{"user_id": "` + id + `", "subscriptions": [], "stripe_customer_id": null}`
			if string(raw) != want {
				t.Errorf("state = %s, want %s", raw, want)
			}
		}
	})
}

// equalSubscription compares two decoded subscriptions, times by instant.
func equalSubscription(a, b stateSubscription) bool {
	sameTime := func(x, y *time.Time) bool {
		return (x == nil) == (y == nil) && (x == nil || x.Equal(*y))
	}
	return a.ID == b.ID && a.CustomerID == b.CustomerID && a.Status == b.Status &&
		str(a.PriceID) == str(b.PriceID) && str(a.Plan) == str(b.Plan) &&
		a.CancelAtPeriodEnd == b.CancelAtPeriodEnd && a.Livemode == b.Livemode &&
		str(a.CancellationReason) == str(b.CancellationReason) &&
		sameTime(a.CurrentPeriodStart, b.CurrentPeriodStart) && sameTime(a.CurrentPeriodEnd, b.CurrentPeriodEnd) &&
		sameTime(a.CancelAt, b.CancelAt) && sameTime(a.CanceledAt, b.CanceledAt) &&
		sameTime(a.EndedAt, b.EndedAt) && sameTime(a.TrialEnd, b.TrialEnd) && sameTime(a.Created, b.Created)
}

func TestSetUsageLimitsDowngradeKeepsUsage(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	user := db.CreateUser(t, "")
	type result struct {
		UserID   string           `json:"user_id"`
		Counters map[string]usage `json:"counters"`
	}
	set := func(limits string) result {
		t.Helper()
		var r result
		superJSON(t, db, `public.billing_set_usage_limits(p_user_id => $1, p_limits => $2::jsonb, p_time_zone => 'Asia/Tokyo')`,
			&r, user, limits)
		return r
	}
	consume := func(amount int) usage {
		t.Helper()
		var u usage
		superJSON(t, db, `public.billing_consume_usage(p_user_id => $1, p_counter => 'properties', p_amount => $2)`, &u, user, amount)
		return u
	}

	steps := []struct {
		name          string
		do            func() usage
		wantAllowed   bool
		wantUsed      int
		wantLimit     *int
		wantRemaining *int
	}{
		{"standard plan", func() usage { return set(`{"properties": 10, "exports": null}`).Counters["properties"] },
			true, 0, ptr(10), ptr(10)},
		{"use five", func() usage { return consume(5) }, true, 5, ptr(10), ptr(5)},
		{"downgrade to three", func() usage { return set(`{"properties": 3}`).Counters["properties"] },
			false, 5, ptr(3), ptr(0)},
		{"over the new limit", func() usage { return consume(1) }, false, 5, ptr(3), ptr(0)},
		{"upgrade to unlimited", func() usage { return set(`{"properties": null}`).Counters["properties"] },
			true, 5, nil, nil},
		{"use again", func() usage { return consume(1) }, true, 6, nil, nil},
	}
	for _, st := range steps {
		got := st.do()
		if got.Allowed != st.wantAllowed || got.Used != st.wantUsed || num(got.Limit) != num(st.wantLimit) ||
			num(got.Remaining) != num(st.wantRemaining) {
			t.Errorf("%s: allowed=%v used=%d limit=%v remaining=%v; want %v %d %v %v", st.name,
				got.Allowed, got.Used, num(got.Limit), num(got.Remaining),
				st.wantAllowed, st.wantUsed, num(st.wantLimit), num(st.wantRemaining))
		}
	}
	final := set(`{}`)
	if final.UserID != user || len(final.Counters) != 2 || final.Counters["exports"].Limit != nil {
		t.Errorf("after {}: %+v; want both counters kept, exports unlimited", final)
	}
}
