package dbcontract_test

// billing_sync_catalog answers from billing_catalog_synced, the
// fingerprints of catalog documents known to match billing_plan_limits
// (migrations/20261203010000_apply_does_only_needed_work.sql): these
// tests hold it to "a recorded fingerprint means the table holds that
// catalog", whoever writes the table.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"billing/internal/testdb"
)

// otherCatalog differs from testCatalog in one limit.
const otherCatalog = `{"free_plan": "free", "past_due_keeps_access": false, "time_zone": "Asia/Tokyo",
	"plans": {"free": {"paid": false, "limits": {"properties": 4, "exports": 0, "views": null}},
	          "standard": {"paid": true, "limits": {"properties": 10, "exports": 5, "views": null}}}}`

func freeLimit(t *testing.T, db *testdb.DB) string {
	t.Helper()
	var limits string
	if err := db.Pool.QueryRow(context.Background(),
		`select limits ->> 'properties' from public.billing_plan_limits where is_free`).Scan(&limits); err != nil {
		t.Fatal(err)
	}
	return limits
}

func fingerprints(t *testing.T, db *testdb.DB) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `select count(*) from public.billing_catalog_synced`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSyncCatalogFingerprints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// before runs after testCatalog was synced (and found to match
		// once more, so that its fingerprint is recorded).
		before      func(t *testing.T, db *testdb.DB)
		wantChanged bool
	}{
		{"nothing in between", func(*testing.T, *testdb.DB) {}, false},
		{"another catalog in between", func(t *testing.T, db *testdb.DB) {
			if got := syncCatalog(t, db, otherCatalog); !got.Changed {
				t.Fatalf("other catalog = %+v, want changed", got)
			}
		}, true},
		{"the table edited by hand", func(t *testing.T, db *testdb.DB) {
			db.MustExec(t, `update public.billing_plan_limits set limits = '{"properties": 99}' where is_free`)
		}, true},
		{"a row deleted by hand", func(t *testing.T, db *testdb.DB) {
			db.MustExec(t, `delete from public.billing_plan_limits where not is_free`)
		}, true},
		{"the table truncated", func(t *testing.T, db *testdb.DB) {
			db.MustExec(t, `truncate public.billing_plan_limits`)
		}, true},
		{"a row added by hand", func(t *testing.T, db *testdb.DB) {
			db.MustExec(t, `insert into public.billing_plan_limits (plan, is_free, limits, time_zone, kinds)
				values ('extra', false, '{}', 'Asia/Tokyo', '{}')`)
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t)
			syncCatalog(t, db, testCatalog)
			if got := syncCatalog(t, db, testCatalog); got.Changed || got.Plans != 2 {
				t.Fatalf("same catalog again = %+v, want unchanged, 2 plans", got)
			}
			if n := fingerprints(t, db); n != 1 {
				t.Fatalf("%d fingerprints recorded after a match, want 1", n)
			}
			tc.before(t, db)
			got := syncCatalog(t, db, testCatalog)
			if got.Changed != tc.wantChanged || got.Plans != 2 {
				t.Fatalf("sync = %+v, want changed %v, 2 plans", got, tc.wantChanged)
			}
			if l := freeLimit(t, db); l != "3" {
				t.Fatalf("free plan's properties limit = %s, want 3 (the catalog's)", l)
			}
			var plans int
			if err := db.Pool.QueryRow(context.Background(), `select count(*) from public.billing_plan_limits`).Scan(&plans); err != nil || plans != 2 {
				t.Fatalf("%d plans in the table (%v), want 2", plans, err)
			}
		})
	}
}

// Two documents with the same plans in another key order and 3 vs 3.0 are
// one catalog: each gets its own fingerprint, neither writes the table.
func TestSyncCatalogEquivalentDocuments(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	syncCatalog(t, db, testCatalog)
	same := `{"time_zone": "Asia/Tokyo", "free_plan": "free", "past_due_keeps_access": false,
		"plans": {"standard": {"paid": true, "limits": {"views": null, "exports": 5, "properties": 10.0}},
		          "free": {"paid": false, "limits": {"views": null, "exports": 0, "properties": 3}}}}`
	for range 2 {
		if got := syncCatalog(t, db, same); got.Changed || got.Plans != 2 {
			t.Fatalf("equivalent document = %+v, want unchanged, 2 plans", got)
		}
	}
	if got := syncCatalog(t, db, testCatalog); got.Changed {
		t.Fatalf("first document again = %+v, want unchanged", got)
	}
	if n := fingerprints(t, db); n != 2 {
		t.Fatalf("%d fingerprints, want 2 (one per document)", n)
	}
}

// A document compared while another catalog is being written (uncommitted)
// is compared again once that write commits, before its fingerprint is
// recorded: a fingerprint recorded from the table as it was would keep
// the other catalog in force for that document.
func TestSyncCatalogDuringAWrite(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	syncCatalog(t, db, testCatalog)
	// testCatalog with 10.0 for 10: the same catalog, its own fingerprint
	// (jsonb keeps the number as written), not recorded yet.
	same := `{"time_zone": "Asia/Tokyo", "free_plan": "free", "past_due_keeps_access": false,
		"plans": {"standard": {"paid": true, "limits": {"views": null, "exports": 5, "properties": 10.0}},
		          "free": {"paid": false, "limits": {"views": null, "exports": 0, "properties": 3}}}}`

	writer, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = writer.Rollback(ctx) }()
	var raw string
	if err := writer.QueryRow(ctx, `select public.billing_sync_catalog($1::jsonb)::text`, otherCatalog).Scan(&raw); err != nil {
		t.Fatal(err)
	}

	done := make(chan catalogSync, 1)
	go func() {
		var res catalogSync
		var raw []byte
		if err := db.Pool.QueryRow(ctx, `select public.billing_sync_catalog($1::jsonb)`, same).Scan(&raw); err != nil {
			t.Error(err)
		} else if err := json.Unmarshal(raw, &res); err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// Wait until the second call waits for the catalog lock (or is done).
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting bool
		if err := writer.QueryRow(ctx, `select exists (select 1 from pg_locks where locktype = 'advisory' and not granted)`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting || len(done) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-done; !got.Changed {
		t.Errorf("sync during the write = %+v, want changed (the table no longer held it once the write committed)", got)
	}
	if got := syncCatalog(t, db, same); got.Changed {
		t.Errorf("the same document again = %+v, want unchanged", got)
	}
	if l := freeLimit(t, db); l != "3" {
		t.Fatalf("free plan's properties limit = %s, want 3: the document's catalog is not in force", l)
	}
}

// TestSyncCatalogTwoCallsAfterAWrite is two calls with a document that is
// not recorded, both started while another catalog's write is
// uncommitted: each first finds the table holding its catalog, and once
// the write commits, no longer. Both must then write or find their
// catalog; neither may wait on the other's lock (an upgrade of a shared
// lock that both hold is a deadlock, which PostgreSQL ends by failing one
// call).
func TestSyncCatalogTwoCallsAfterAWrite(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	syncCatalog(t, db, testCatalog)
	if _, err := db.Pool.Exec(ctx, `delete from public.billing_catalog_synced`); err != nil {
		t.Fatal(err)
	}

	writer, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = writer.Rollback(ctx) }()
	if _, err := writer.Exec(ctx, `select public.billing_sync_catalog($1::jsonb)`, otherCatalog); err != nil {
		t.Fatal(err)
	}

	const callers = 2
	errs := make(chan error, callers)
	for range callers {
		go func() {
			_, err := db.Pool.Exec(ctx, `select public.billing_sync_catalog($1::jsonb)`, testCatalog)
			errs <- err
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := writer.QueryRow(ctx, `select count(*) from pg_locks where locktype = 'advisory' and not granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == callers || len(errs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls wait for the catalog lock, want %d", waiting, callers)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Errorf("a call after the write failed: %v", err)
		}
	}
	if l := freeLimit(t, db); l != "3" {
		t.Fatalf("free plan's properties limit = %s, want 3: the callers' catalog is not in force", l)
	}
	if got := syncCatalog(t, db, testCatalog); got.Changed {
		t.Errorf("the same document again = %+v, want unchanged", got)
	}
}
