package dbcontract_test

import (
	"context"
	"io/fs"
	"testing"

	"billing/internal/testdb"
	"billing/migrations"
)

// TestUsageKeyFollowsTheThing: a key names a thing, and a thing can come
// back. Consumed, released and consumed again with the same key (an undo,
// a restore from the trash), it is counted again, and released again; a
// retry of the latest call is still a duplicate. Before, the second
// consume was answered "duplicate" and counted nothing, so the user held
// more than the cap.
func TestUsageKeyFollowsTheThing(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	syncCatalog(t, db, exampleCatalog(t, "real-estate")) // free: a cap of 3 properties
	user := db.CreateUser(t, "")
	const consume = `public.consume_usage(p_counter => 'properties', p_key => $1)`
	const release = `public.release_usage(p_counter => 'properties', p_key => $1)`
	steps := []struct {
		name, call, key string
		allowed, dup    bool
		used            int
		released        int // for a release
	}{
		{"p1 created", consume, "p1", true, false, 1, 0},
		{"p2 created", consume, "p2", true, false, 2, 0},
		{"p3 created", consume, "p3", true, false, 3, 0},
		{"p1 deleted", release, "p1", true, false, 2, 1},
		{"the delete retried", release, "p1", true, true, 2, 0},
		{"p1 restored: counted again", consume, "p1", true, false, 3, 0},
		{"the restore retried", consume, "p1", true, true, 3, 0},
		{"p4 refused: 3 of 3 held", consume, "p4", false, false, 3, 0},
		{"p1 deleted again: given back again", release, "p1", true, false, 2, 1},
		{"p4 created", consume, "p4", true, false, 3, 0},
		{"p1 restored again: refused, the cap is full", consume, "p1", false, false, 3, 0},
	}
	for _, s := range steps {
		got := asUser(t, db, user, s.call, s.key)
		released := 0
		if got.Released != nil {
			released = *got.Released
		}
		allowed := got.Allowed
		if s.call == release {
			allowed = true // a release's "allowed" is about one more unit
		}
		if allowed != s.allowed || got.Duplicate != s.dup || got.Used != s.used || released != s.released {
			t.Fatalf("%s: allowed %v duplicate %v used %d released %d; want %v %v %d %d",
				s.name, got.Allowed, got.Duplicate, got.Used, released, s.allowed, s.dup, s.used, s.released)
		}
	}
}

// TestReadmeTriggerRestoreKeepsTheCap: the README's trigger counts a
// property on insert and gives it back on delete, with its ID as the key.
// A property deleted and inserted again with the same ID is held again and
// must count: with the month's registrations reset, a fourth property under
// the free cap of 3 is refused. Before, the restore counted nothing and the
// fourth insert went through.
func TestReadmeTriggerRestoreKeepsTheCap(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	syncCatalog(t, db, exampleCatalog(t, "real-estate")) // free: 3 properties held, 3 a month
	db.MustExec(t, `create table public.properties (
		id uuid primary key default gen_random_uuid(),
		user_id uuid not null references auth.users (id),
		name text not null check (name <> ''))`)
	db.MustExec(t, readmeSQL(t, "function public.properties_count_usage"))
	user := db.CreateUser(t, "")
	insert := func(id string) error {
		_, err := db.Pool.Exec(ctx, `insert into public.properties (id, user_id, name) values ($1, $2, 'p')`, id, user)
		return err
	}
	a := "00000000-0000-4000-8000-00000000000a"
	for _, id := range []string{a, "00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000c"} {
		if err := insert(id); err != nil {
			t.Fatal(err)
		}
	}
	db.MustExec(t, `delete from public.properties where id = $1`, a)
	if err := insert(a); err != nil {
		t.Fatalf("restore with the same ID: %v", err)
	}
	// A month later: the month's registrations start again, the cap does not.
	db.MustExec(t, `update public.usage_limits set period_start = (period_start - interval '1 month')::date
		where user_id = $1 and counter = 'monthly_count'`, user)
	err := insert("00000000-0000-4000-8000-00000000000d")
	var rows, used int
	if e := db.Pool.QueryRow(ctx, `select (select count(*) from public.properties where user_id = $1),
		(select used from public.usage_limits where user_id = $1 and counter = 'properties')`, user).Scan(&rows, &used); e != nil {
		t.Fatal(e)
	}
	if err == nil || rows != 3 || used != 3 {
		t.Errorf("%d properties held, %d counted, under a cap of 3; the fourth insert's error: %v (want refused)", rows, used, err)
	}
}

// TestUsageKeysFromBeforeKeepTheLatest: keys recorded before a key held one
// direction at a time keep their later call, so a thing consumed and then
// released (both rows present) counts again when it comes back.
func TestUsageKeysFromBeforeKeepTheLatest(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	syncCatalog(t, db, exampleCatalog(t, "real-estate"))
	user := db.CreateUser(t, "")
	asUser(t, db, user, `public.consume_usage(p_counter => 'properties', p_key => 'old')`)
	asUser(t, db, user, `public.release_usage(p_counter => 'properties', p_key => 'old')`)
	// Both rows, as the earlier functions left them (without the trigger
	// that now keeps one direction per key).
	db.MustExec(t, `alter table public.usage_keys disable trigger billing_usage_key_latest`)
	db.MustExec(t, `insert into public.usage_keys (user_id, counter, direction, key, amount, created_at)
		values ($1, 'properties', 'consume', 'old', 1, now() - interval '1 hour')`, user)
	db.MustExec(t, `alter table public.usage_keys enable trigger billing_usage_key_latest`)
	db.MustExec(t, migrationSQL(t, "20261204000000_usage_keys_follow_the_thing.sql"))
	var dirs []string
	if err := db.Pool.QueryRow(context.Background(), `select coalesce(array_agg(direction), '{}') from public.usage_keys
		where user_id = $1 and key = 'old'`, user).Scan(&dirs); err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 1 || dirs[0] != "release" {
		t.Fatalf("key directions after the migration %v, want [release]", dirs)
	}
	if got := asUser(t, db, user, `public.consume_usage(p_counter => 'properties', p_key => 'old')`); !got.Allowed || got.Duplicate || got.Used != 1 {
		t.Errorf("the thing back: %+v, want counted", got)
	}
}

// migrationSQL returns one migration's text, to run it again.
func migrationSQL(t *testing.T, name string) string {
	t.Helper()
	body, err := fs.ReadFile(migrations.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
