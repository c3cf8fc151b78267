package dbcontract_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"billing/internal/testdb"
)

// TestCheckStateAgreesWithUserState checks that billing_check_state (one
// statement, written for check-subscription's speed) answers exactly what
// billing_user_state answers, plus the user's counters: the same keys,
// values, formats and order of subscriptions, for a user with a linked and
// an unlinked subscription of their customer and a live schedule, a user
// with counters, a user without a customer, and a user without a profile.
func TestCheckStateAgreesWithUserState(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	a, b, c := db.CreateUser(t, "a@example.com"), db.CreateUser(t, "b@example.com"), db.CreateUser(t, "")
	db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_A' where id = $1`, a)
	db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_B' where id = $1`, b)
	db.MustExec(t, `insert into public.subscriptions
		(id, user_id, customer_id, livemode, status, price_id, plan, stripe_created, state_at,
		 current_period_start, current_period_end, cancel_at_period_end, cancel_at, canceled_at, ended_at,
		 trial_end, cancellation_reason)
		values
		('sub_old', $1, 'cus_A', false, 'canceled', 'price_std', 'standard', '2025-01-01T00:00:00Z', now(),
		 '2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z', false, null, '2025-01-15T12:34:56Z', '2025-02-01T00:00:00Z',
		 null, 'cancellation_requested'),
		('sub_new', $1, 'cus_A', true, 'trialing', 'price_prem', 'premium', '2026-10-26T00:00:00Z', now(),
		 '2026-11-26T00:00:00Z', '2026-12-26T00:00:00Z', true, '2026-12-26T00:00:00Z', '2026-11-20T09:00:00Z', null,
		 '2026-11-30T00:00:00Z', 'cancellation_requested'),
		('sub_unlinked', null, 'cus_A', false, 'incomplete', null, null, null, now(),
		 null, null, false, null, null, null, null, null),
		('sub_other_customer', null, 'cus_Z', false, 'active', 'price_std', 'standard', '2026-11-21T00:00:00Z', now(),
		 null, null, false, null, null, null, null, null),
		('sub_b', $2, 'cus_B', false, 'active', 'price_std', 'standard', '2026-11-21T00:00:00Z', now(),
		 null, null, false, null, null, null, null, null)`, a, b)
	db.MustExec(t, `insert into public.subscription_schedules (id, subscription_id, customer_id, status,
		scheduled_price_id, scheduled_plan, scheduled_change_at, state_at)
		values ('sub_sched_old', 'sub_new', 'cus_A', 'released', 'price_std', 'standard', '2026-12-26T00:00:00Z', now() - interval '2 hours'),
		       ('sub_sched_live', 'sub_new', 'cus_A', 'active', 'price_std', 'standard', '2026-12-26T00:00:00Z', now() - interval '1 hour')`)
	db.MustExec(t, `insert into public.usage_limits (user_id, counter, limit_value, used, period_start)
		values ($1, 'properties', 10, 3, '2026-12-01'), ($1, 'exports', null, 0, '2026-11-01')`, b)

	type usage struct {
		Used        int    `json:"used"`
		PeriodStart string `json:"period_start"`
	}
	wantUsage := map[string]map[string]usage{
		b: {"properties": {3, "2026-12-01"}, "exports": {0, "2026-11-01"}},
	}
	noProfile := "00000000-0000-0000-0000-0000000000aa"
	for _, tc := range []struct{ name, user string }{
		{"customer with linked and unlinked subscriptions and a schedule", a},
		{"counters", b}, {"no customer", c}, {"no profile row", noProfile},
	} {
		user := tc.user
		t.Run(tc.name, func(t *testing.T) {
			var stateRaw, checkRaw []byte
			if err := db.Pool.QueryRow(ctx, `select public.billing_user_state(p_user_id => $1)::text`, user).Scan(&stateRaw); err != nil {
				t.Fatal(err)
			}
			if err := db.Pool.QueryRow(ctx, `select public.billing_check_state(p_user_id => $1)::text`, user).Scan(&checkRaw); err != nil {
				t.Fatal(err)
			}
			var state, check map[string]any
			if err := json.Unmarshal(stateRaw, &state); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(checkRaw, &check); err != nil {
				t.Fatal(err)
			}
			var got map[string]usage
			u, _ := json.Marshal(check["usage"])
			if err := json.Unmarshal(u, &got); err != nil {
				t.Fatalf("usage %s: %v", u, err)
			}
			want := wantUsage[user]
			if want == nil {
				want = map[string]usage{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("usage = %v, want %v", got, want)
			}
			delete(check, "usage")
			if !reflect.DeepEqual(check, state) {
				t.Errorf("billing_check_state without usage =\n%s\nbilling_user_state =\n%s", checkRaw, stateRaw)
			}
		})
	}
	t.Run("the live schedule is the one shown", func(t *testing.T) {
		var raw []byte
		if err := db.Pool.QueryRow(ctx, `select public.billing_check_state(p_user_id => $1)::text`, a).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var st struct {
			Subscriptions []struct {
				ID         string  `json:"id"`
				ScheduleID *string `json:"schedule_id"`
			} `json:"subscriptions"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range st.Subscriptions {
			ids = append(ids, s.ID)
			if s.ID == "sub_new" && (s.ScheduleID == nil || *s.ScheduleID != "sub_sched_live") {
				t.Errorf("sub_new's schedule = %v, want sub_sched_live", s.ScheduleID)
			}
		}
		if want := []string{"sub_unlinked", "sub_new", "sub_old"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("subscriptions %v, want %v (newest first by Stripe time, else by row time; the customer's unlinked one included, no other customer's)", ids, want)
		}
	})
	t.Run("null user", func(t *testing.T) {
		var raw []byte
		err := db.Pool.QueryRow(ctx, `select public.billing_check_state(p_user_id => null)::text`).Scan(&raw)
		wantState(t, err, invalidParameterValue)
	})
}
