package dbcontract_test

// Caps and monthly counters, release_usage and idempotency keys (issue 13),
// on the real database, with the real-estate example catalog as Go sends it
// (store.CatalogDocument): properties is a cap of 3 / 10 / unlimited, and
// monthly_count a count of 3 / 10 / unlimited per month in Asia/Tokyo.

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"billing/internal/testdb"
	"billing/shared/plans"
	"billing/shared/store"

	"github.com/jackc/pgx/v5"
)

// kindUsage is the usage JSON with the fields issue 13 added.
type kindUsage struct {
	usage
	Kind      string `json:"kind"`
	Duplicate bool   `json:"duplicate"`
	Released  *int   `json:"released"`
}

// exampleCatalog returns the catalog document of an example catalog.
func exampleCatalog(t *testing.T, name string) string {
	t.Helper()
	data, err := plans.Example(name)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, plan := range []string{"STANDARD", "PREMIUM", "BASIC", "GROWTH", "COMMUNITY", "FEEDBACK"} {
		env["STRIPE_"+plan+"_PRICE_ID_TEST"] = "price_" + plan + "_test"
	}
	c, err := plans.Parse(data, plans.ModeTest, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return string(store.CatalogDocument(c))
}

// asUser calls a user-facing usage function as the signed-in user.
func asUser(t *testing.T, db *testdb.DB, user, call string, args ...any) kindUsage {
	t.Helper()
	ctx := context.Background()
	var got kindUsage
	if err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error { return callJSON(ctx, tx, call, &got, args...) }); err != nil {
		t.Fatalf("%s as user: %v", call, err)
	}
	return got
}

// at calls billing_consume_usage (or release, get) as the server at a fixed time.
func at(t *testing.T, db *testdb.DB, fn, user, counter, now string) kindUsage {
	t.Helper()
	var got kindUsage
	superJSON(t, db, `public.billing_`+fn+`_usage(p_user_id => $1, p_counter => $2, p_now => $3::timestamptz)`,
		&got, user, counter, now)
	return got
}

func TestCapAndMonthlyAtTheMonthBoundary(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	syncCatalog(t, db, exampleCatalog(t, "real-estate"))
	user := db.CreateUser(t, "") // free plan: 3 properties, 3 a month

	const lastSecond = "2026-11-30T14:59:59Z" // 23:59:59 JST on November 30
	for i := range 3 {
		for _, counter := range []string{"properties", "monthly_count"} {
			if got := at(t, db, "consume", user, counter, "2026-11-10T00:00:00Z"); !got.Allowed || got.Used != i+1 {
				t.Fatalf("consume %d of %s: %+v", i+1, counter, got)
			}
		}
	}
	tests := []struct {
		now                     string
		propertiesOK, monthlyOK bool
		monthlyUsedAfter        int
	}{
		{lastSecond, false, false, 3},
		{"2026-11-30T14:59:59.999999Z", false, false, 3}, // the UTC instant before JST midnight
		{"2026-11-30T15:00:00Z", false, true, 1},         // 00:00:00 JST on December 1
		{"2026-12-01T00:00:00Z", false, true, 2},         // UTC midnight: already counted in December
	}
	for _, tt := range tests {
		p := at(t, db, "consume", user, "properties", tt.now)
		if p.Allowed != tt.propertiesOK || p.Used != 3 || p.Kind != "cap" || p.ResetsAt != nil || p.PeriodStart != nil {
			t.Errorf("%s properties: %+v; want allowed %v, used 3 held, a cap without a period", tt.now, p, tt.propertiesOK)
		}
		m := at(t, db, "consume", user, "monthly_count", tt.now)
		if m.Allowed != tt.monthlyOK || m.Used != tt.monthlyUsedAfter || m.Kind != "monthly" {
			t.Errorf("%s monthly_count: %+v; want allowed %v, used %d", tt.now, m, tt.monthlyOK, tt.monthlyUsedAfter)
		}
	}
	if m := at(t, db, "get", user, "monthly_count", "2026-12-15T00:00:00Z"); str(m.ResetsAt) != "2026-12-31T15:00:00Z" ||
		str(m.PeriodStart) != "2026-12-01" {
		t.Errorf("December monthly_count: resets %s, period %s; want 2026-12-31T15:00:00Z, 2026-12-01", str(m.ResetsAt), str(m.PeriodStart))
	}
}

// As the signed-in user at the real time: rows last written in an earlier
// month reset a monthly counter and leave a cap as it is.
func TestCapAndMonthlyAsTheSignedInUser(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	syncCatalog(t, db, exampleCatalog(t, "real-estate"))
	user := db.CreateUser(t, "")
	for _, counter := range []string{"properties", "monthly_count"} {
		db.MustExec(t, `insert into public.usage_limits (user_id, counter, limit_value, used, period_start, valid_until)
			values ($1, $2, 3, 3, (date_trunc('month', now() at time zone 'Asia/Tokyo') - interval '1 month')::date, '-infinity')`,
			user, counter)
	}
	if got := asUser(t, db, user, `public.consume_usage(p_counter => 'properties')`); got.Allowed || got.Used != 3 ||
		str(got.Reason) != "limit_reached" {
		t.Errorf("cap from last month: %+v; want refused, 3 held", got)
	}
	if got := asUser(t, db, user, `public.consume_usage(p_counter => 'monthly_count')`); !got.Allowed || got.Used != 1 {
		t.Errorf("monthly count from last month: %+v; want allowed, 1 this month", got)
	}
	if got := asUser(t, db, user, `public.get_usage(p_counter => 'properties')`); got.Kind != "cap" || got.Used != 3 {
		t.Errorf("get_usage properties: %+v", got)
	}
}

func TestConcurrentConsumesForTheLastUnit(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	syncCatalog(t, db, exampleCatalog(t, "real-estate"))
	user := db.CreateUser(t, "")
	asUser(t, db, user, `public.consume_usage(p_counter => 'properties', p_amount => 2)`)

	allowed, used := consumeConcurrently(t, db, user, 20)
	if allowed != 1 || used != 3 {
		t.Errorf("%d of 20 concurrent consumes of the last unit allowed, used = %d; want 1 and 3", allowed, used)
	}
}

func TestReleaseUsage(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	syncCatalog(t, db, exampleCatalog(t, "real-estate"))
	user := db.CreateUser(t, "")

	// Nothing used: nothing to give back, nothing created.
	if got := asUser(t, db, user, `public.release_usage(p_counter => 'properties')`); got.Used != 0 || got.Released == nil || *got.Released != 0 {
		t.Errorf("release before any use: %+v", got)
	}
	asUser(t, db, user, `public.consume_usage(p_counter => 'properties', p_amount => 3)`)
	if got := asUser(t, db, user, `public.consume_usage(p_counter => 'properties')`); got.Allowed {
		t.Fatalf("4th property allowed: %+v", got)
	}
	got := asUser(t, db, user, `public.release_usage(p_counter => 'properties')`)
	if got.Used != 2 || *got.Released != 1 || !got.Allowed || num(got.Remaining) != 1 {
		t.Errorf("release one: %+v; want used 2, released 1, one more allowed", got)
	}
	if got := asUser(t, db, user, `public.consume_usage(p_counter => 'properties')`); !got.Allowed || got.Used != 3 {
		t.Errorf("consume after a release: %+v", got)
	}
	// Never below zero.
	got = asUser(t, db, user, `public.release_usage(p_counter => 'properties', p_amount => 5)`)
	if got.Used != 0 || *got.Released != 3 {
		t.Errorf("release 5 of 3: %+v; want used 0, released 3", got)
	}
	got = asUser(t, db, user, `public.release_usage(p_counter => 'properties')`)
	if got.Used != 0 || *got.Released != 0 {
		t.Errorf("release at 0: %+v; want used 0, released 0", got)
	}
	var stored int
	if err := db.Pool.QueryRow(context.Background(), `select used from public.usage_limits
		where user_id = $1 and counter = 'properties'`, user).Scan(&stored); err != nil || stored != 0 {
		t.Errorf("stored used = %d, %v; want 0", stored, err)
	}
}

func TestUsageIdempotencyKeys(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	syncCatalog(t, db, exampleCatalog(t, "real-estate"))
	user := db.CreateUser(t, "")
	const consume = `public.consume_usage(p_counter => 'properties', p_key => $1)`
	const release = `public.release_usage(p_counter => 'properties', p_key => $1)`

	first := asUser(t, db, user, consume, "property-1")
	retry := asUser(t, db, user, consume, "property-1")
	if !first.Allowed || first.Duplicate || first.Used != 1 || !retry.Allowed || !retry.Duplicate || retry.Used != 1 {
		t.Errorf("consume, retry: %+v, %+v; want one unit counted, the retry a duplicate", first, retry)
	}
	// Retried at once by 10 clients: still once.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { asUser(t, db, user, consume, "property-2") })
	}
	wg.Wait()
	if got := asUser(t, db, user, `public.get_usage(p_counter => 'properties')`); got.Used != 2 {
		t.Errorf("after 10 concurrent consumes with one key: used %d, want 2", got.Used)
	}
	// The same key on another counter is another key.
	if got := asUser(t, db, user, `public.consume_usage(p_counter => 'monthly_count', p_key => $1)`, "property-1"); got.Duplicate || got.Used != 1 {
		t.Errorf("same key, other counter: %+v", got)
	}
	// A double delete releases once.
	r1 := asUser(t, db, user, release, "property-1")
	r2 := asUser(t, db, user, release, "property-1")
	if *r1.Released != 1 || r1.Duplicate || r1.Used != 1 || *r2.Released != 0 || !r2.Duplicate || r2.Used != 1 {
		t.Errorf("release, release again: %+v, %+v; want one unit back once", r1, r2)
	}
	// A refused consume records no key: its retry counts once there is room.
	asUser(t, db, user, `public.consume_usage(p_counter => 'properties', p_amount => 2)`) // 3 of 3
	if got := asUser(t, db, user, consume, "property-9"); got.Allowed || got.Duplicate {
		t.Errorf("consume over the cap: %+v; want refused", got)
	}
	asUser(t, db, user, `public.release_usage(p_counter => 'properties')`)
	if got := asUser(t, db, user, consume, "property-9"); !got.Allowed || got.Duplicate || got.Used != 3 {
		t.Errorf("retry after a release: %+v; want counted", got)
	}

	for _, key := range []string{"", strings.Repeat("k", 201)} {
		err := db.AsUser(t, context.Background(), user, func(tx pgx.Tx) error {
			var out any
			return callJSON(context.Background(), tx, consume, &out, key)
		})
		wantState(t, err, invalidParameterValue)
	}
}

func TestUsageOfOtherUsersAndAnon(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	syncCatalog(t, db, exampleCatalog(t, "real-estate"))
	a, b := db.CreateUser(t, ""), db.CreateUser(t, "")
	asUser(t, db, a, `public.consume_usage(p_counter => 'properties', p_amount => 2, p_key => 'a-1')`)

	// B cannot read A's rows, and the user-facing functions act only on B.
	var visible int
	if err := db.AsUser(t, ctx, b, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `select count(*) from public.usage_limits where user_id = $1`, a).Scan(&visible)
	}); err != nil || visible != 0 {
		t.Errorf("B sees %d of A's usage rows (%v), want 0", visible, err)
	}
	asUser(t, db, b, `public.consume_usage(p_counter => 'properties', p_key => 'a-1')`)
	asUser(t, db, b, `public.release_usage(p_counter => 'properties', p_amount => 2)`)
	if got := asUser(t, db, a, `public.get_usage(p_counter => 'properties')`); got.Used != 2 {
		t.Errorf("A's count after B's calls = %d, want 2", got.Used)
	}
	// The server functions that take a user are not callable by users;
	// nor are the tables of plans and keys readable.
	for _, call := range []string{
		`select public.billing_get_usage(p_user_id => $1, p_counter => 'properties')::text`,
		`select public.billing_consume_usage(p_user_id => $1, p_counter => 'properties')::text`,
		`select public.billing_release_usage(p_user_id => $1, p_counter => 'properties')::text`,
		`select public.billing_check_state(p_user_id => $1)::text`,
		`select count(*)::text from public.usage_keys where user_id = $1`,
		`select count(*)::text from public.billing_usage_plans where user_id = $1`,
	} {
		err := db.AsUser(t, ctx, b, func(tx pgx.Tx) error {
			var out string
			return tx.QueryRow(ctx, call, a).Scan(&out)
		})
		wantState(t, err, insufficientPrivilege)
	}

	// anon may call none of them.
	for _, call := range []string{
		`select public.consume_usage(p_counter => 'properties')::text`,
		`select public.release_usage(p_counter => 'properties')::text`,
		`select public.get_usage(p_counter => 'properties')::text`,
		`select public.consume_usage(p_counter => 'properties', p_amount => 1, p_key => 'k')::text`,
	} {
		err := db.AsAnon(t, ctx, func(tx pgx.Tx) error {
			var out string
			return tx.QueryRow(ctx, call).Scan(&out)
		})
		wantState(t, err, insufficientPrivilege)
	}
}

// The apps of the seed documents: real-estate caps properties and counts a
// month; race-data and learning-community have no counters, so any counter
// allows nothing.
func TestExampleCatalogsUsage(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	for _, name := range []string{"race-data", "learning-community"} {
		syncCatalog(t, db, exampleCatalog(t, name))
		user := db.CreateUser(t, "")
		if got := asUser(t, db, user, `public.consume_usage(p_counter => 'properties')`); got.Allowed || num(got.Limit) != 0 {
			t.Errorf("%s: consume properties = %+v; want refused with limit 0", name, got)
		}
	}
	syncCatalog(t, db, exampleCatalog(t, "real-estate"))
	var kinds string
	if err := db.Pool.QueryRow(context.Background(), `select kinds::text from public.billing_plan_limits where is_free`).Scan(&kinds); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(kinds), &got); err != nil || got["properties"] != "cap" || got["monthly_count"] != "monthly" {
		t.Errorf("stored kinds = %s (%v), want properties cap, monthly_count monthly", kinds, err)
	}
}
