package dbcontract_test

// Finding 1 of the security review: on a real Supabase project the app's
// profiles table exists before our migrations, with its own column grants
// and policies. The migrations must add no client privilege or policy
// beyond what billing needs: a signed-in user must not be able to write an
// app column the app did not let them write (is_admin, credits), and the
// app's own editable columns must keep working.

import (
	"context"
	"testing"

	"billing/internal/testdb"

	"github.com/jackc/pgx/v5"
)

// appProfilesWith is an app's profiles table with privileged columns,
// created (like everything on Supabase) under the default privileges that
// give anon and authenticated ALL, then narrowed by the app with grants.
func appProfilesWith(grants string) string {
	return `
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text,
  is_admin boolean not null default false,
  credits integer not null default 0
);
alter table public.profiles enable row level security;
create policy "Users read their own profile" on public.profiles
  for select to authenticated using ((select auth.uid()) = id);
` + grants
}

func TestAppProfilesKeepTheirColumnRules(t *testing.T) {
	t.Parallel()
	type write struct {
		name, set string
		allowed   bool // the user's own row is updated
	}
	tests := []struct {
		name   string
		setup  string
		writes []write
	}{
		{
			name: "app grants update (display_name) only",
			setup: appProfilesWith(`
revoke all on public.profiles from anon, authenticated;
grant select on public.profiles to authenticated;
grant update (display_name) on public.profiles to authenticated;
create policy "Users update their own profile" on public.profiles
  for update to authenticated using ((select auth.uid()) = id) with check ((select auth.uid()) = id);`),
			writes: []write{
				{"own display_name", "display_name = 'Ann'", true},
				{"own is_admin", "is_admin = true", false},
				{"own credits", "credits = 1000000", false},
			},
		},
		{
			name: "app lets clients update nothing",
			setup: appProfilesWith(`
revoke all on public.profiles from anon, authenticated;
grant select on public.profiles to authenticated;`),
			writes: []write{
				{"own display_name", "display_name = 'Ann'", false},
				{"own is_admin", "is_admin = true", false},
			},
		},
		{
			name: "app has Supabase's default privileges and no update policy",
			setup: appProfilesWith(`
revoke all on public.profiles from anon;`),
			writes: []write{
				{"own display_name", "display_name = 'Ann'", false},
				{"own is_admin", "is_admin = true", false},
			},
		},
		{
			name: "app has Supabase's default privileges and its own update policy",
			setup: appProfilesWith(`
revoke all on public.profiles from anon;
create policy "Users update their own profile" on public.profiles
  for update to authenticated using ((select auth.uid()) = id);`),
			writes: []write{
				// The app itself lets users write every column: not ours to change.
				{"own display_name", "display_name = 'Ann'", true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := testdb.NewEmpty(t)
			migrateWithWarnings(t, db, tt.setup)
			user := db.CreateUser(t, "app-user@example.com")
			other := db.CreateUser(t, "other@example.com")
			db.MustExec(t, `update public.profiles set active_plan = 'standard', stripe_customer_id = 'cus_app' where id = $1`, user)

			for _, w := range tt.writes {
				t.Run(w.name, func(t *testing.T) {
					var updated int64
					err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
						tag, err := tx.Exec(ctx, `update public.profiles set `+w.set+` where id = $1`, user)
						updated = tag.RowsAffected()
						return err
					})
					if w.allowed {
						if err != nil || updated != 1 {
							t.Fatalf("the app's editable column: %d rows, %v; want 1 row", updated, err)
						}
						return
					}
					if err == nil && updated != 0 {
						t.Fatalf("a signed-in user wrote %q on their own profile, which the app does not allow", w.set)
					}
				})
			}
			var admin bool
			var credits int
			if err := db.Pool.QueryRow(ctx, `select is_admin, credits from public.profiles where id = $1`, user).Scan(&admin, &credits); err != nil {
				t.Fatal(err)
			}
			if admin || credits != 0 {
				t.Fatalf("is_admin %v, credits %d: an app column was written", admin, credits)
			}

			// Billing still works for the user: they read their own
			// snapshot, not another user's, and cannot write it.
			err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
				var plan string
				if err := tx.QueryRow(ctx, `select active_plan from public.profiles where id = $1`, user).Scan(&plan); err != nil {
					return err
				}
				if plan != "standard" {
					t.Errorf("own active_plan %q", plan)
				}
				n, err := count(ctx, tx, `select count(*) from public.profiles where id = $1`, other)
				if n != 0 {
					t.Errorf("another user's profile is visible")
				}
				return err
			})
			if err != nil {
				t.Fatalf("reading the own billing snapshot: %v", err)
			}
			var updated int64
			err = db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
				tag, err := tx.Exec(ctx, `update public.profiles set active_plan = 'premium' where id = $1`, user)
				updated = tag.RowsAffected()
				return err
			})
			if err == nil && updated != 0 {
				t.Fatal("a signed-in user wrote their own active_plan")
			}
			if err != nil {
				wantState(t, err, insufficientPrivilege)
			}
		})
	}
}
