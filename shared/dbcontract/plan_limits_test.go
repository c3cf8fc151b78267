package dbcontract_test

// The catalog's limits in the database (billing_plan_limits, written by
// billing_sync_catalog) and how the usage functions use them: the free
// plan's limit for a user without a row, and for a row whose paid access
// (valid_until) has ended.

import (
	"context"
	"testing"

	"billing/internal/testdb"

	"github.com/jackc/pgx/v5"
)

// testCatalog is a catalog document as Go sends it (stripesync.CatalogDocument).
const testCatalog = `{"free_plan": "free", "past_due_keeps_access": false, "time_zone": "Asia/Tokyo",
	"plans": {"free": {"paid": false, "limits": {"properties": 3, "exports": 0, "views": null}},
	          "standard": {"paid": true, "limits": {"properties": 10, "exports": 5, "views": null}}}}`

type catalogSync struct {
	Changed bool `json:"changed"`
	Plans   int  `json:"plans"`
}

func syncCatalog(t *testing.T, db *testdb.DB, doc string) catalogSync {
	t.Helper()
	var res catalogSync
	superJSON(t, db, `public.billing_sync_catalog(p_catalog => $1::jsonb)`, &res, doc)
	return res
}

func TestSyncCatalog(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()

	if got := syncCatalog(t, db, testCatalog); !got.Changed || got.Plans != 2 {
		t.Errorf("first sync = %+v, want changed, 2 plans", got)
	}
	if got := syncCatalog(t, db, testCatalog); got.Changed || got.Plans != 2 {
		t.Errorf("same catalog again = %+v, want unchanged", got)
	}
	// Key order and 3 vs 3.0 are the same catalog.
	same := `{"time_zone": "Asia/Tokyo", "free_plan": "free",
		"plans": {"standard": {"limits": {"views": null, "exports": 5, "properties": 10.0}},
		          "free": {"limits": {"views": null, "exports": 0, "properties": 3}}}}`
	if got := syncCatalog(t, db, same); got.Changed {
		t.Errorf("reordered catalog = %+v, want unchanged", got)
	}

	// A new catalog replaces the old one: plans gone are gone.
	next := `{"free_plan": "basic", "time_zone": "UTC",
		"plans": {"basic": {"limits": {"properties": 5.0}}, "pro": {"limits": {}}}}`
	if got := syncCatalog(t, db, next); !got.Changed || got.Plans != 2 {
		t.Errorf("new catalog = %+v, want changed, 2 plans", got)
	}
	rows, err := db.Pool.Query(ctx, `select plan, is_free, limits::text, time_zone from public.billing_plan_limits order by plan`)
	if err != nil {
		t.Fatal(err)
	}
	type planRow struct {
		Plan   string
		IsFree bool
		Limits string
		TZ     string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[planRow])
	if err != nil {
		t.Fatal(err)
	}
	want := []planRow{{"basic", true, `{"properties": 5}`, "UTC"}, {"pro", false, `{}`, "UTC"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("billing_plan_limits = %+v, want %+v", got, want)
	}

	t.Run("service_role may call it", func(t *testing.T) {
		err := db.AsServiceRole(t, ctx, func(tx pgx.Tx) error {
			var out catalogSync
			return callJSON(ctx, tx, `public.billing_sync_catalog(p_catalog => $1::jsonb)`, &out, next)
		})
		if err != nil {
			t.Error(err)
		}
	})

	for _, tc := range []struct{ name, doc string }{
		{"null", `null`},
		{"no plans", `{"free_plan": "free"}`},
		{"plans not an object", `{"free_plan": "free", "plans": []}`},
		{"no free plan", `{"plans": {"free": {"limits": {}}}}`},
		{"free plan not a plan", `{"free_plan": "gratis", "plans": {"free": {"limits": {}}}}`},
		{"limits not an object", `{"free_plan": "free", "plans": {"free": {"limits": [3]}}}`},
		{"plan not an object", `{"free_plan": "free", "plans": {"free": 3}}`},
		{"negative limit", `{"free_plan": "free", "plans": {"free": {"limits": {"p": -1}}}}`},
		{"fractional limit", `{"free_plan": "free", "plans": {"free": {"limits": {"p": 2.5}}}}`},
		{"string limit", `{"free_plan": "free", "plans": {"free": {"limits": {"p": "3"}}}}`},
		{"empty counter", `{"free_plan": "free", "plans": {"free": {"limits": {"": 3}}}}`},
		{"unknown time zone", `{"free_plan": "free", "time_zone": "Mars/Olympus", "plans": {"free": {"limits": {}}}}`},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			var raw []byte
			err := db.Pool.QueryRow(ctx, `select public.billing_sync_catalog(p_catalog => $1::jsonb)`, tc.doc).Scan(&raw)
			wantState(t, err, invalidParameterValue)
		})
	}
}

// usageCall is billing_consume_usage (or get) for user at a fixed time.
func usageCall(t *testing.T, db *testdb.DB, fn, user, counter, now string) usage {
	t.Helper()
	var got usage
	call := `public.billing_get_usage(p_user_id => $1, p_counter => $2, p_now => $3::timestamptz)`
	if fn == "consume" {
		call = `public.billing_consume_usage(p_user_id => $1, p_counter => $2, p_now => $3::timestamptz)`
	}
	superJSON(t, db, call, &got, user, counter, now)
	return got
}

func TestUsageWithoutARowUsesTheFreePlan(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	syncCatalog(t, db, testCatalog)
	const now = "2026-11-20T00:00:00Z"
	nov := func(u usage) usage {
		u.Counter = "properties"
		u.PeriodStart, u.ResetsAt, u.TimeZone = ptr("2026-11-01"), ptr("2026-11-30T15:00:00Z"), ptr("Asia/Tokyo")
		return u
	}

	user := db.CreateUser(t, "")
	checkUsage(t, usageCall(t, db, "get", user, "properties", now), nov(usage{Allowed: true, Limit: ptr(3), Remaining: ptr(3)}))
	for i := 1; i <= 3; i++ {
		checkUsage(t, usageCall(t, db, "consume", user, "properties", now),
			nov(usage{Allowed: true, Used: i, Limit: ptr(3), Remaining: ptr(3 - i)}))
	}
	checkUsage(t, usageCall(t, db, "consume", user, "properties", now),
		nov(usage{Reason: ptr("limit_reached"), Used: 3, Limit: ptr(3), Remaining: ptr(0)}))
	// The row the first call made follows the free plan whatever it says.
	var limit int
	var forever bool
	if err := db.Pool.QueryRow(ctx, `select limit_value, valid_until = '-infinity' from public.usage_limits
		where user_id = $1 and counter = 'properties'`, user).Scan(&limit, &forever); err != nil {
		t.Fatal(err)
	}
	if limit != 3 || !forever {
		t.Errorf("row: limit %d, valid_until -infinity %v; want 3, true", limit, forever)
	}

	t.Run("a counter the free plan does not name", func(t *testing.T) {
		for _, counter := range []string{"exports", "made_up"} {
			got := usageCall(t, db, "consume", user, counter, now)
			want := nov(usage{Reason: ptr("limit_reached"), Limit: ptr(0), Remaining: ptr(0)})
			want.Counter = counter
			checkUsage(t, got, want)
		}
		var rows int
		if err := db.Pool.QueryRow(ctx, `select count(*) from public.usage_limits where user_id = $1`, user).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 1 {
			t.Errorf("%d usage rows, want only properties' (refused counters leave none)", rows)
		}
	})

	t.Run("an unlimited free counter", func(t *testing.T) {
		got := usageCall(t, db, "consume", user, "views", now)
		want := nov(usage{Allowed: true, Used: 1})
		want.Counter = "views"
		checkUsage(t, got, want)
	})

	t.Run("an unknown user", func(t *testing.T) {
		got := usageCall(t, db, "consume", "00000000-0000-4000-8000-000000000001", "properties", now)
		checkUsage(t, got, usage{Reason: ptr("no_limit_row"), Counter: "properties", Limit: ptr(0), Remaining: ptr(0)})
	})

	t.Run("as the signed-in user", func(t *testing.T) {
		other := db.CreateUser(t, "")
		var got usage
		err := db.AsUser(t, ctx, other, func(tx pgx.Tx) error {
			return callJSON(ctx, tx, `public.consume_usage(p_counter => 'properties', p_amount => 2)`, &got)
		})
		if err != nil || !got.Allowed || got.Used != 2 || num(got.Limit) != 3 {
			t.Errorf("consume_usage = %+v, %v; want 2 of 3 counted", got, err)
		}
	})
}

func TestUsageAfterThePaidAccessEnds(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	user := db.CreateUser(t, "")
	db.MustExec(t, `insert into public.usage_limits (user_id, counter, limit_value, used, period_start, time_zone, valid_until)
		values ($1, 'properties', 10, 5, '2026-11-01', 'Asia/Tokyo', '2026-11-20T00:00:00Z')`, user)
	nov := func(u usage) usage {
		u.Counter = "properties"
		u.PeriodStart, u.ResetsAt, u.TimeZone = ptr("2026-11-01"), ptr("2026-11-30T15:00:00Z"), ptr("Asia/Tokyo")
		return u
	}

	// Before its end the row's own limit applies.
	checkUsage(t, usageCall(t, db, "consume", user, "properties", "2026-11-19T23:59:59Z"),
		nov(usage{Allowed: true, Used: 6, Limit: ptr(10), Remaining: ptr(4)}))
	// After it, with no catalog synced, nothing is allowed and nothing is lost.
	checkUsage(t, usageCall(t, db, "consume", user, "properties", "2026-11-20T00:00:00Z"),
		nov(usage{Reason: ptr("no_limit_row"), Used: 6, Limit: ptr(0), Remaining: ptr(0)}))

	syncCatalog(t, db, testCatalog)
	checkUsage(t, usageCall(t, db, "get", user, "properties", "2026-11-20T00:00:00Z"),
		nov(usage{Reason: ptr("limit_reached"), Used: 6, Limit: ptr(3), Remaining: ptr(0)}))
	checkUsage(t, usageCall(t, db, "consume", user, "properties", "2026-11-20T00:00:00Z"),
		nov(usage{Reason: ptr("limit_reached"), Used: 6, Limit: ptr(3), Remaining: ptr(0)}))
	// The monthly reset still comes from the row: December starts at 0 of 3.
	dec := usageCall(t, db, "consume", user, "properties", "2026-12-05T00:00:00Z")
	checkUsage(t, dec, usage{Allowed: true, Counter: "properties", Used: 1, Limit: ptr(3), Remaining: ptr(2),
		PeriodStart: ptr("2026-12-01"), ResetsAt: ptr("2026-12-31T15:00:00Z"), TimeZone: ptr("Asia/Tokyo")})

	// A new write of the plan's limits (billing_refresh_user) sets the end again.
	var out any
	superJSON(t, db, `public.billing_set_usage_limits(p_user_id => $1, p_limits => '{"properties": 10}')`, &out, user)
	var open bool
	if err := db.Pool.QueryRow(context.Background(), `select valid_until is null from public.usage_limits
		where user_id = $1 and counter = 'properties'`, user).Scan(&open); err != nil || !open {
		t.Errorf("valid_until is null = %v, %v; want true after a write without p_valid_until", open, err)
	}
}

func TestFirstConsumeOfAFreeUserIsAtomic(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	syncCatalog(t, db, testCatalog)
	user := db.CreateUser(t, "")

	const callers = 20
	allowed, used := consumeConcurrently(t, db, user, callers)
	if allowed != 3 || used != 3 {
		t.Errorf("%d of %d concurrent first calls allowed, used = %d; want 3 and 3", allowed, callers, used)
	}
}
