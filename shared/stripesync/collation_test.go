package stripesync_test

import (
	"context"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/access"
	"billing/shared/stripesync"
)

// Subscriptions equal in every other tie-break are ordered by ID in byte
// order, in SQL (billing_refresh_user's snapshot) as in Go (shared/access),
// whatever the database's collation: here the ID column is given a
// linguistic one, under which "sub_B…" sorts after "sub_a…" while bytes put
// it before.
func TestSnapshotTieBreakIsByteOrderUnderAnyCollation(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	var icu bool
	if err := db.Pool.QueryRow(ctx, `select exists (select 1 from pg_collation where collname = 'en-x-icu')`).Scan(&icu); err != nil {
		t.Fatal(err)
	}
	if !icu {
		t.Skip("this PostgreSQL has no ICU collation en-x-icu")
	}
	db.MustExec(t, `alter table public.subscriptions alter column id type text collate "en-x-icu"`)
	var linguistic bool
	if err := db.Pool.QueryRow(ctx, `select 'sub_B1'::text collate "en-x-icu" > 'sub_a1'::text collate "en-x-icu"`).Scan(&linguistic); err != nil || !linguistic {
		t.Fatalf("setup: the collation does not sort sub_B1 after sub_a1 (%v)", err)
	}
	s := syncer(t, db)
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

	check := func(user string, subs map[string][2]string) {
		t.Helper()
		for id, st := range subs {
			if _, err := s.ApplySubscription(ctx, subJSON(id, "cus_"+user[:8], st[0], st[1], user, end, false), at, stripesync.SourceAPI); err != nil {
				t.Fatal(err)
			}
		}
		us, err := s.Store.UserState(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		want := access.Compute(us.AccessSubscriptions(), s.Catalog, time.Now())
		var plan, status string
		if err := db.Pool.QueryRow(ctx, `select active_plan, coalesce(active_status, '') from public.profiles where id = $1`, user).Scan(&plan, &status); err != nil {
			t.Fatal(err)
		}
		if want.Status == nil || plan != want.Plan || status != *want.Status {
			t.Fatalf("SQL snapshot %s/%s, Go %s/%v", plan, status, want.Plan, want.Status)
		}
	}
	// Two granting subscriptions: the winner (byte order: sub_a1) gives the plan.
	granting := db.CreateUser(t, "g@example.com")
	db.MustExec(t, `update public.profiles set stripe_customer_id = $2 where id = $1`, granting, "cus_"+granting[:8])
	check(granting, map[string][2]string{"sub_B1": {"active", "price_std_test"}, "sub_a1": {"active", "price_prem_test"}})
	// None grants: the one shown (byte order: sub_a2) gives the status.
	ended := db.CreateUser(t, "e@example.com")
	db.MustExec(t, `update public.profiles set stripe_customer_id = $2 where id = $1`, ended, "cus_"+ended[:8])
	check(ended, map[string][2]string{"sub_B2": {"canceled", "price_std_test"}, "sub_a2": {"incomplete_expired", "price_std_test"}})
}
