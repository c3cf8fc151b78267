package dbcontract_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"billing/internal/testdb"
)

// TestAppHiddenColumnStaysHidden: an app whose profiles table gives
// clients no SELECT (a column it hides, internal_notes) keeps it hidden
// after the billing migrations, while the user still reads their own
// billing snapshot. Before, the RLS migration's table-wide SELECT stayed
// and the row's owner read every column.
func TestAppHiddenColumnStaysHidden(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, grants string }{
		{"app grants clients nothing on profiles", `
revoke all on public.profiles from anon, authenticated;`},
		{"app grants clients nothing, has an own-row select policy", `
revoke all on public.profiles from anon, authenticated;
create policy "own" on public.profiles for select to authenticated using ((select auth.uid()) = id);`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := testdb.NewEmpty(t)
			migrateWithWarnings(t, db, `
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text,
  internal_notes text
);
alter table public.profiles enable row level security;
`+tt.grants)
			user := db.CreateUser(t, "hidden@example.com")
			db.MustExec(t, `update public.profiles set internal_notes = 'fraud suspect' where id = $1`, user)

			var notes string
			err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, `select internal_notes from public.profiles where id = $1`, user).Scan(&notes)
			})
			if err == nil {
				t.Fatalf("a signed-in user read the app's hidden column internal_notes = %q after the billing migrations", notes)
			}
			wantState(t, err, insufficientPrivilege)
			var plan *string
			if err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, `select active_plan from public.profiles where id = $1`, user).Scan(&plan)
			}); err != nil {
				t.Errorf("the user cannot read their own billing snapshot: %v", err)
			}
		})
	}
}

// TestAppWithoutUpdateGrantGetsNone: an app that lets users insert and
// read their own profile (grant select, insert; one own-row policy FOR
// ALL) but never update it: after the migrations users still cannot update
// an app column. Before, the RLS migration's table-wide UPDATE was kept
// (the app held INSERT and a policy for all) and is_admin was writable.
func TestAppWithoutUpdateGrantGetsNone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	migrateWithWarnings(t, db, appProfilesWith(`
revoke all on public.profiles from anon, authenticated;
grant select, insert on public.profiles to authenticated;
create policy "own profile" on public.profiles
  for all to authenticated using ((select auth.uid()) = id) with check ((select auth.uid()) = id);`))
	user := db.CreateUser(t, "noupdate@example.com")

	var updated int64
	err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `update public.profiles set is_admin = true, credits = 1000000 where id = $1`, user)
		updated = tag.RowsAffected()
		return err
	})
	if err == nil && updated != 0 {
		t.Fatalf("a signed-in user updated is_admin/credits on their own profile; the app granted no UPDATE")
	}
}
