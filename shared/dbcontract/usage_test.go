package dbcontract_test

import (
	"context"
	"sync"
	"testing"

	"billing/internal/testdb"

	"github.com/jackc/pgx/v5"
)

// usage is the JSON every usage function returns for one counter.
type usage struct {
	Allowed     bool    `json:"allowed"`
	Reason      *string `json:"reason"`
	Counter     string  `json:"counter"`
	Used        int     `json:"used"`
	Limit       *int    `json:"limit"`
	Remaining   *int    `json:"remaining"`
	PeriodStart *string `json:"period_start"`
	ResetsAt    *string `json:"resets_at"`
	TimeZone    *string `json:"time_zone"`
}

func ptr[T any](v T) *T { return &v }

// str shows an optional string in messages.
func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// num shows an optional int in messages.
func num(p *int) any {
	if p == nil {
		return "<null>"
	}
	return *p
}

// row is a usage_limits row set up for a test.
type row struct {
	limit       *int
	used        int
	periodStart string
	timeZone    string
}

func TestConsumeUsage(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	tests := []struct {
		name   string
		row    *row // nil: no row
		amount int
		now    string
		want   usage
	}{
		{"within the limit", &row{ptr(3), 1, "2026-11-01", "Asia/Tokyo"}, 1, "2026-11-20T00:00:00Z",
			usage{Allowed: true, Used: 2, Limit: ptr(3), Remaining: ptr(1), PeriodStart: ptr("2026-11-01"), ResetsAt: ptr("2026-11-30T15:00:00Z")}},
		{"up to the limit", &row{ptr(3), 2, "2026-11-01", "Asia/Tokyo"}, 1, "2026-11-20T00:00:00Z",
			usage{Allowed: true, Used: 3, Limit: ptr(3), Remaining: ptr(0), PeriodStart: ptr("2026-11-01"), ResetsAt: ptr("2026-11-30T15:00:00Z")}},
		{"at the limit", &row{ptr(3), 3, "2026-11-01", "Asia/Tokyo"}, 1, "2026-11-20T00:00:00Z",
			usage{Reason: ptr("limit_reached"), Used: 3, Limit: ptr(3), Remaining: ptr(0), PeriodStart: ptr("2026-11-01"), ResetsAt: ptr("2026-11-30T15:00:00Z")}},
		{"amount beyond the limit counts nothing", &row{ptr(3), 1, "2026-11-01", "Asia/Tokyo"}, 3, "2026-11-20T00:00:00Z",
			usage{Reason: ptr("limit_reached"), Used: 1, Limit: ptr(3), Remaining: ptr(2), PeriodStart: ptr("2026-11-01"), ResetsAt: ptr("2026-11-30T15:00:00Z")}},
		{"zero limit", &row{ptr(0), 0, "2026-11-01", "Asia/Tokyo"}, 1, "2026-11-20T00:00:00Z",
			usage{Reason: ptr("limit_reached"), Used: 0, Limit: ptr(0), Remaining: ptr(0), PeriodStart: ptr("2026-11-01"), ResetsAt: ptr("2026-11-30T15:00:00Z")}},
		{"unlimited", &row{nil, 1000, "2026-11-01", "Asia/Tokyo"}, 5, "2026-11-20T00:00:00Z",
			usage{Allowed: true, Used: 1005, PeriodStart: ptr("2026-11-01"), ResetsAt: ptr("2026-11-30T15:00:00Z")}},
		// 2026-12-01 00:00 in Tokyo is 2026-11-30 15:00 UTC.
		{"last second of November in Tokyo", &row{ptr(3), 3, "2026-11-01", "Asia/Tokyo"}, 1, "2026-11-30T14:59:59Z",
			usage{Reason: ptr("limit_reached"), Used: 3, Limit: ptr(3), Remaining: ptr(0), PeriodStart: ptr("2026-11-01"), ResetsAt: ptr("2026-11-30T15:00:00Z")}},
		{"already December in Tokyo", &row{ptr(3), 3, "2026-11-01", "Asia/Tokyo"}, 1, "2026-11-30T15:30:00Z",
			usage{Allowed: true, Used: 1, Limit: ptr(3), Remaining: ptr(2), PeriodStart: ptr("2026-12-01"), ResetsAt: ptr("2026-12-31T15:00:00Z")}},
		{"still November in UTC", &row{ptr(3), 3, "2026-11-01", "UTC"}, 1, "2026-11-30T15:30:00Z",
			usage{Reason: ptr("limit_reached"), Used: 3, Limit: ptr(3), Remaining: ptr(0), PeriodStart: ptr("2026-11-01"), ResetsAt: ptr("2026-12-01T00:00:00Z")}},
		{"months later", &row{ptr(3), 3, "2026-08-01", "Asia/Tokyo"}, 2, "2026-11-20T00:00:00Z",
			usage{Allowed: true, Used: 2, Limit: ptr(3), Remaining: ptr(1), PeriodStart: ptr("2026-11-01"), ResetsAt: ptr("2026-11-30T15:00:00Z")}},
		{"no row", nil, 1, "2026-11-20T00:00:00Z",
			usage{Reason: ptr("no_limit_row"), Used: 0, Limit: ptr(0), Remaining: ptr(0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user := db.CreateUser(t, "")
			tc.want.Counter = "properties"
			if tc.row != nil {
				tc.want.TimeZone = ptr(tc.row.timeZone)
				db.MustExec(t, `insert into public.usage_limits (user_id, counter, limit_value, used, period_start, time_zone)
					values ($1, 'properties', $2, $3, $4::date, $5)`, user, tc.row.limit, tc.row.used, tc.row.periodStart, tc.row.timeZone)
			}
			var got usage
			superJSON(t, db, `public.billing_consume_usage(p_user_id => $1, p_counter => 'properties', p_amount => $2, p_now => $3::timestamptz)`,
				&got, user, tc.amount, tc.now)
			checkUsage(t, got, tc.want)

			if tc.row == nil {
				return
			}
			var used int
			var period string
			if err := db.Pool.QueryRow(context.Background(), `select used, period_start::text from public.usage_limits
				where user_id = $1 and counter = 'properties'`, user).Scan(&used, &period); err != nil {
				t.Fatal(err)
			}
			if used != tc.want.Used || period != str(tc.want.PeriodStart) {
				t.Errorf("stored used = %d, period_start = %s; want %d, %s", used, period, tc.want.Used, str(tc.want.PeriodStart))
			}
		})
	}
}

// checkUsage compares two usage results field by field.
func checkUsage(t *testing.T, got, want usage) {
	t.Helper()
	if got.Allowed != want.Allowed || str(got.Reason) != str(want.Reason) || got.Counter != want.Counter ||
		got.Used != want.Used || num(got.Limit) != num(want.Limit) || num(got.Remaining) != num(want.Remaining) ||
		str(got.PeriodStart) != str(want.PeriodStart) || str(got.ResetsAt) != str(want.ResetsAt) ||
		str(got.TimeZone) != str(want.TimeZone) {
		t.Errorf("got  allowed=%v reason=%s counter=%s used=%d limit=%v remaining=%v period=%s resets=%s tz=%s\n"+
			"want allowed=%v reason=%s counter=%s used=%d limit=%v remaining=%v period=%s resets=%s tz=%s",
			got.Allowed, str(got.Reason), got.Counter, got.Used, num(got.Limit), num(got.Remaining),
			str(got.PeriodStart), str(got.ResetsAt), str(got.TimeZone),
			want.Allowed, str(want.Reason), want.Counter, want.Used, num(want.Limit), num(want.Remaining),
			str(want.PeriodStart), str(want.ResetsAt), str(want.TimeZone))
	}
}

func TestConsumeUsageAsTheSignedInUser(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	user := db.CreateUser(t, "user@example.com")
	// Full last month (in Tokyo): the first call of this month resets it.
	db.MustExec(t, `insert into public.usage_limits (user_id, counter, limit_value, used, period_start)
		values ($1, 'properties', 2, 2,
		        (date_trunc('month', now() at time zone 'Asia/Tokyo') - interval '1 month')::date)`, user)

	steps := []struct {
		call        string
		wantAllowed bool
		wantUsed    int
	}{
		{`public.get_usage(p_counter => 'properties')`, true, 0},
		{`public.consume_usage(p_counter => 'properties')`, true, 1},
		{`public.consume_usage(p_counter => 'properties', p_amount => 1)`, true, 2},
		{`public.consume_usage(p_counter => 'properties')`, false, 2},
		{`public.get_usage(p_counter => 'properties')`, false, 2},
	}
	for i, st := range steps {
		var got usage
		err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error { return callJSON(ctx, tx, st.call, &got) })
		if err != nil {
			t.Fatalf("step %d %s: %v", i, st.call, err)
		}
		if got.Allowed != st.wantAllowed || got.Used != st.wantUsed {
			t.Errorf("step %d %s: allowed = %v, used = %d; want %v, %d", i, st.call, got.Allowed, got.Used, st.wantAllowed, st.wantUsed)
		}
	}

	t.Run("without a user", func(t *testing.T) {
		for _, call := range []string{`public.consume_usage(p_counter => 'properties')`, `public.get_usage(p_counter => 'properties')`} {
			err := db.As(t, ctx, testdb.RoleAuthenticated, map[string]any{"role": "authenticated"}, func(tx pgx.Tx) error {
				var out any
				return callJSON(ctx, tx, call, &out)
			})
			wantState(t, err, insufficientPrivilege)
		}
	})
}

func TestConsumeUsageIsAtomic(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	user := db.CreateUser(t, "")
	db.MustExec(t, `insert into public.usage_limits (user_id, counter, limit_value) values ($1, 'properties', 5)`, user)

	const callers = 20
	allowed, used := consumeConcurrently(t, db, user, callers)
	if allowed != 5 || used != 5 {
		t.Errorf("%d of %d concurrent calls allowed, used = %d; want 5 and 5", allowed, callers, used)
	}
}

func TestUsageArgumentsAreChecked(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	user := db.CreateUser(t, "")
	tests := []struct {
		name string
		call string
		args []any
	}{
		{"zero amount", `public.billing_consume_usage(p_user_id => $1, p_counter => 'p', p_amount => 0)`, []any{user}},
		{"negative amount", `public.billing_consume_usage(p_user_id => $1, p_counter => 'p', p_amount => -1)`, []any{user}},
		{"empty counter", `public.billing_consume_usage(p_user_id => $1, p_counter => '')`, []any{user}},
		{"null user", `public.billing_get_usage(p_user_id => null, p_counter => 'p')`, nil},
		{"limits not an object", `public.billing_set_usage_limits(p_user_id => $1, p_limits => '[3]')`, []any{user}},
		{"limits null", `public.billing_set_usage_limits(p_user_id => $1, p_limits => null)`, []any{user}},
		{"fractional limit", `public.billing_set_usage_limits(p_user_id => $1, p_limits => '{"p": 2.5}')`, []any{user}},
		{"negative limit", `public.billing_set_usage_limits(p_user_id => $1, p_limits => '{"p": -1}')`, []any{user}},
		{"string limit", `public.billing_set_usage_limits(p_user_id => $1, p_limits => '{"p": "10"}')`, []any{user}},
		{"empty counter name", `public.billing_set_usage_limits(p_user_id => $1, p_limits => '{"": 1}')`, []any{user}},
		{"unknown time zone", `public.billing_set_usage_limits(p_user_id => $1, p_limits => '{"p": 1}', p_time_zone => 'Mars/Olympus')`, []any{user}},
		{"null user state", `public.billing_user_state(p_user_id => null)`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var raw []byte
			err := db.Pool.QueryRow(context.Background(), "select "+tc.call, tc.args...).Scan(&raw)
			wantState(t, err, invalidParameterValue)
		})
	}
}

// consumeConcurrently calls consume_usage('properties') callers times at
// once as user and returns how many calls were allowed and the stored count.
func consumeConcurrently(t *testing.T, db *testdb.DB, user string, callers int) (allowed, used int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make(chan usage, callers)
	for range callers {
		wg.Go(func() {
			var got usage
			err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
				return callJSON(ctx, tx, `public.consume_usage(p_counter => 'properties')`, &got)
			})
			if err != nil {
				t.Error(err)
			}
			results <- got
		})
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.Allowed {
			allowed++
		}
	}
	if err := db.Pool.QueryRow(ctx, `select used from public.usage_limits where user_id = $1`, user).Scan(&used); err != nil {
		t.Fatal(err)
	}
	return allowed, used
}
