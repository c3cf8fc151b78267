package stripesync_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/store"
	"billing/shared/stripesync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// countingCaller is a store.Caller that runs each call in its own
// transaction with PostgreSQL's function statistics on
// (track_functions = all) and keeps, per call, how many times each SQL
// function ran in it (pg_stat_xact_user_functions: this transaction's
// counts, nothing from other sessions).
type countingCaller struct {
	pool  *pgxpool.Pool
	calls []map[string]int64 // one per Call, in order
}

func (c *countingCaller) Call(ctx context.Context, fn string, args []store.Arg, out any) error {
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `set local track_functions = 'all'`); err != nil {
			return err
		}
		// The view holds what the session has not reported yet, earlier
		// transactions' counts included: the call's are the difference.
		before, err := functionCounts(ctx, tx)
		if err != nil {
			return err
		}
		if err := store.CallTx(ctx, tx, fn, args, out); err != nil {
			return err
		}
		after, err := functionCounts(ctx, tx)
		if err != nil {
			return err
		}
		for name, n := range before {
			if after[name] -= n; after[name] == 0 {
				delete(after, name)
			}
		}
		c.calls = append(c.calls, after)
		return nil
	})
}

// functionCounts is how many times each SQL function ran in this session
// since its statistics were last reported.
func functionCounts(ctx context.Context, tx pgx.Tx) (map[string]int64, error) {
	rows, err := tx.Query(ctx, `select funcname::text, calls from pg_stat_xact_user_functions`)
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		counts[name] += n
	}
	return counts, rows.Err()
}

func (c *countingCaller) Close() {}

// last is the function counts of the most recent call.
func (c *countingCaller) last(t *testing.T) map[string]int64 {
	t.Helper()
	if len(c.calls) == 0 {
		t.Fatal("no call was made")
	}
	return c.calls[len(c.calls)-1]
}

// TestApplyEventDoesOnlyNeededWork: applying a subscription event whose
// catalog was stored before does not compare the catalog with the table
// again, does not compute the usage answers it never returns, and orders
// the user's granting subscriptions once (the snapshot's winner is the
// first of them). Before migrations/20261203010000 each applied event
// called billing_catalog_matches once, billing_get_usage once per counter
// and billing_granting_subscriptions once after billing_refresh_user had
// found the same subscriptions. The event's effects are checked too.
func TestApplyEventDoesOnlyNeededWork(t *testing.T) {
	db := testdb.New(t)
	counter := &countingCaller{pool: db.Pool}
	s := &stripesync.Syncer{Store: store.New(counter), Catalog: catalog(t)}
	user := db.CreateUser(t, "work@example.com")
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	T := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

	applyEvent(t, s, "evt_nw1", "customer.subscription.created", subJSON("sub_nw", "cus_nw", "active", "price_std_test", user, end, false), T)
	for i, plan := range []string{"price_std_test", "price_prem_test"} {
		res := applyEvent(t, s, fmt.Sprintf("evt_nw%d", i+2), "customer.subscription.updated",
			subJSON("sub_nw", "cus_nw", "active", plan, user, end, false), T.Add(time.Duration(i+1)*time.Second))
		if res.Subscription != "applied" {
			t.Fatalf("event %d: subscription %q, want applied", i+2, res.Subscription)
		}
		counts := counter.last(t)
		if counts["billing_apply_event"] != 1 {
			t.Fatalf("event %d: billing_apply_event ran %d times; the counts are not this call's: %v",
				i+2, counts["billing_apply_event"], counts)
		}
		for _, fn := range []string{"billing_catalog_matches", "billing_get_usage", "billing_usage_rule", "billing_granting_subscriptions"} {
			if n := counts[fn]; n != 0 {
				t.Errorf("event %d: %s ran %d times (functions that ran: %v)", i+2, fn, n, slices.Sorted(maps.Keys(counts)))
			}
		}
	}

	var plan string
	var limit *int
	if err := db.Pool.QueryRow(context.Background(), `select p.active_plan, ul.limit_value from public.profiles p
		join public.usage_limits ul on ul.user_id = p.id and ul.counter = 'properties' where p.id = $1`, user).
		Scan(&plan, &limit); err != nil {
		t.Fatal(err)
	}
	if plan != "premium" || limit != nil {
		t.Fatalf("after the switch: plan %q, properties limit %v; want premium, unlimited", plan, limit)
	}
}

// TestApplyEventReportsConcurrentSubscriptions: with two subscriptions
// that grant, the snapshot shows the one that lasts longer and the answer
// lists both, best first, from the same ordering.
func TestApplyEventReportsConcurrentSubscriptions(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	user := db.CreateUser(t, "two@example.com")
	T := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	short := time.Now().Add(10 * 24 * time.Hour).UTC().Truncate(time.Second)
	long := time.Now().Add(25 * 24 * time.Hour).UTC().Truncate(time.Second)

	applyEvent(t, s, "evt_two1", "customer.subscription.created", subJSON("sub_two_a", "cus_two", "active", "price_std_test", user, long, true), T)
	res := applyEvent(t, s, "evt_two2", "customer.subscription.created", subJSON("sub_two_b", "cus_two", "active", "price_prem_test", user, short, true), T.Add(time.Second))
	got := res.ConcurrentSubscriptions[user]
	if want := []string{"sub_two_a", "sub_two_b"}; !slices.Equal(got, want) {
		t.Fatalf("concurrent subscriptions = %v (all: %v), want %v", got, res.ConcurrentSubscriptions, want)
	}
	var shown, plan string
	if err := db.Pool.QueryRow(context.Background(), `select active_subscription_id, active_plan from public.profiles where id = $1`, user).
		Scan(&shown, &plan); err != nil {
		t.Fatal(err)
	}
	if shown != "sub_two_a" || plan != "standard" {
		t.Fatalf("snapshot shows %s (%s), want sub_two_a (standard): the longer access", shown, plan)
	}
}

// TestApplyEventStoresTheObjectOnce: the subscription's raw object is the
// event payload's data.object; the document sends it once and Postgres
// stores it in both places. An event applied without its body (the
// object alone) still stores the object.
func TestApplyEventStoresTheObjectOnce(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	ctx := context.Background()
	user := db.CreateUser(t, "raw@example.com")
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	T := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

	object := subJSON("sub_raw", "cus_raw", "active", "price_std_test", user, end, false)
	body := fmt.Appendf(nil, `{"id": "evt_raw1", "object": "event", "type": "customer.subscription.created",
		"api_version": "2023-10-16", "created": %d, "livemode": false, "data": {"object": %s}}`, T.Unix(), object)
	ev, err := stripesync.ParseEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.ResolveEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Apply(ctx, &ev, body, s.SubscriptionEffects(st)); err != nil || res.Subscription != "applied" {
		t.Fatalf("apply = %+v, %v", res, err)
	}
	var rawIsObject, rawIsPayloads bool
	if err := db.Pool.QueryRow(ctx, `select s.raw = $2::jsonb, s.raw = e.payload -> 'data' -> 'object'
		from public.subscriptions s, public.stripe_events e where s.id = 'sub_raw' and e.id = $1`, "evt_raw1", string(object)).
		Scan(&rawIsObject, &rawIsPayloads); err != nil {
		t.Fatal(err)
	}
	if !rawIsObject || !rawIsPayloads {
		t.Fatalf("stored raw is the object: %v; is the payload's data.object: %v", rawIsObject, rawIsPayloads)
	}

	// The object alone (no body): sent as raw.
	later := subJSON("sub_raw", "cus_raw", "active", "price_prem_test", user, end, false)
	applyEvent(t, s, "evt_raw2", "customer.subscription.updated", later, T.Add(time.Second))
	if err := db.Pool.QueryRow(ctx, `select raw = $1::jsonb from public.subscriptions where id = 'sub_raw'`, string(later)).
		Scan(&rawIsObject); err != nil || !rawIsObject {
		t.Fatalf("stored raw is the later object: %v (%v)", rawIsObject, err)
	}
}
