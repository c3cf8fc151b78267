package dbcontract_test

import (
	"context"
	"testing"

	"billing/internal/testdb"
)

// TestSeedShapedProfilesGetTheSnapshot: the user's own seed
// (seeds/001-payment-flow-astro.md, 2-1) added the snapshot columns to
// profiles with enum types before billing. The migrations apply (they
// stopped at the usage backfill's comparison with ”), the columns become
// text with their values and default kept, and a refresh writes the
// snapshot, a plan the enum did not list included.
func TestSeedShapedProfilesGetTheSnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	migrateWithWarnings(t, db, `
create type public.subscription_plan as enum ('free','standard','premium');
create type public.subscription_status as enum ('incomplete','incomplete_expired','trialing','active','past_due','canceled','unpaid','paused');
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  user_email text,
  display_name text
);
alter table public.profiles
  add column if not exists stripe_customer_id text,
  add column if not exists active_plan public.subscription_plan default 'free',
  add column if not exists active_status public.subscription_status default 'incomplete',
  add column if not exists active_subscription_id text,
  add column if not exists subscription_current_period_end timestamptz;
create unique index if not exists profiles_customer_uidx on public.profiles(stripe_customer_id);
alter table public.profiles enable row level security;
create policy "profiles_select_self" on public.profiles for select using (auth.uid() = id);`)
	const catalog = `{"free_plan": "free", "time_zone": "Asia/Tokyo",
		"plans": {"free": {"paid": false, "limits": {"properties": 3}},
		          "standard": {"paid": true, "limits": {"properties": 10}}}}`
	syncCatalog(t, db, catalog)
	user := db.CreateUser(t, "seed@example.com")
	db.MustExec(t, `insert into public.subscriptions (id, user_id, customer_id, status, price_id, plan,
		current_period_end, stripe_created, state_at)
		values ('sub_seed', $1, 'cus_seed', 'active', 'price_std', 'standard', now() + interval '20 days', now(), now())`, user)
	var plan string
	if err := db.Pool.QueryRow(ctx, `select public.billing_refresh_user($1, $2::jsonb)`, user, catalog).Scan(&plan); err != nil {
		t.Fatalf("billing_refresh_user on the seed's profiles: %v", err)
	}
	if plan != "standard" {
		t.Fatalf("active_plan %q, want standard", plan)
	}
	var typ, def string
	if err := db.Pool.QueryRow(ctx, `select format_type(a.atttypid, a.atttypmod), coalesce(pg_get_expr(d.adbin, d.adrelid), '')
		from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
		where a.attrelid = 'public.profiles'::regclass and a.attname = 'active_plan'`).Scan(&typ, &def); err != nil {
		t.Fatal(err)
	}
	if typ != "text" || def != "'free'::text" {
		t.Errorf("active_plan is %s default %q, want text default 'free'", typ, def)
	}
	// A plan the seed's enum never listed.
	db.MustExec(t, `update public.subscriptions set plan = 'growth' where id = 'sub_seed'`)
	const growth = `{"free_plan": "free", "time_zone": "Asia/Tokyo",
		"plans": {"free": {"paid": false, "limits": {"properties": 3}},
		          "growth": {"paid": true, "limits": {"properties": 30}}}}`
	syncCatalog(t, db, growth)
	if err := db.Pool.QueryRow(ctx, `select public.billing_refresh_user($1, $2::jsonb)`, user, growth).Scan(&plan); err != nil || plan != "growth" {
		t.Errorf("refresh to a plan the enum did not list: %q %v", plan, err)
	}
}
