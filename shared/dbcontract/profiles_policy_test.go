package dbcontract_test

// The billing snapshot lives on the app's own profiles table when it has
// one, whose policies the migration keeps. Supabase's user-management
// starter, which many apps copied, has
//
//	create policy "Public profiles are viewable by everyone."
//	  on profiles for select using (true);
//
// and with it anyone holding the public anon key reads every user's billing
// columns. The migration cannot fix the app's policy; it warns, naming it.

import (
	"context"
	"strings"
	"sync"
	"testing"

	"billing/internal/testdb"
	"billing/migrations"
	"billing/shared/migrate"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// migrateWithWarnings applies the migrations to db (bootstrap first, then
// setup, then every migration) and returns the WARNING notices they raised.
func migrateWithWarnings(t *testing.T, db *testdb.DB, setup string) []*pgconn.Notice {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var warnings []*pgconn.Notice
	cfg, err := pgx.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if n.SeverityUnlocalized == "WARNING" {
			mu.Lock()
			warnings = append(warnings, n)
			mu.Unlock()
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, migrations.Bootstrap); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	if setup != "" {
		if _, err := conn.Exec(ctx, setup); err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
	if _, err := migrate.Apply(ctx, conn, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return warnings
}

// appProfiles is an app's own profiles table as Supabase's starter creates
// it, with its policies.
const appProfiles = `
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  username text,
  avatar_url text
);
alter table public.profiles enable row level security;
create policy "Public profiles are viewable by everyone." on public.profiles
  for select using (true);
create policy "Users can insert their own profile." on public.profiles
  for insert with check ((select auth.uid()) = id);
create policy "Users can update own profile." on public.profiles
  for update using ((select auth.uid()) = id);
create policy "Own profile" on public.profiles
  for select to authenticated using (auth.uid() = id);
create policy "Admins" on public.profiles
  for select to service_role using (true);
`

func TestMigrationWarnsOfAPublicProfilesPolicy(t *testing.T) {
	t.Parallel()
	db := testdb.NewEmpty(t)
	warnings := migrateWithWarnings(t, db, appProfiles)
	if len(warnings) != 1 {
		for _, w := range warnings {
			t.Logf("WARNING: %s", w.Message)
		}
		t.Fatalf("got %d warnings, want one (for the public SELECT policy)", len(warnings))
	}
	w := warnings[0]
	for _, want := range []string{`"Public profiles are viewable by everyone."`, "anon and authenticated", "billing columns"} {
		if !strings.Contains(w.Message, want) {
			t.Errorf("warning %q does not say %q", w.Message, want)
		}
	}
	if !strings.Contains(w.Hint, "row owner") || !strings.Contains(w.Hint, "table of their own") {
		t.Errorf("hint %q does not say what to do", w.Hint)
	}

	// The app's table keeps the grants it relies on (Supabase's defaults);
	// only what no client needs is revoked.
	for _, tc := range []struct {
		role, priv string
		want       bool
	}{
		{"anon", "SELECT", true}, {"authenticated", "INSERT", true}, {"authenticated", "DELETE", true},
		{"anon", "TRUNCATE", false}, {"authenticated", "TRUNCATE", false},
		{"authenticated", "REFERENCES", false}, {"authenticated", "TRIGGER", false},
	} {
		var got bool
		if err := db.Pool.QueryRow(context.Background(), `select has_table_privilege($1, 'public.profiles', $2)`,
			tc.role, tc.priv).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s %s on the app's profiles = %v, want %v", tc.role, tc.priv, got, tc.want)
		}
	}
}

func TestMigrationWarnsOfNothingForOwnerPolicies(t *testing.T) {
	t.Parallel()
	for name, setup := range map[string]string{
		"profiles created by the migration": "",
		"app's profiles with owner-only policies": `
			create table public.profiles (id uuid primary key references auth.users (id), username text);
			alter table public.profiles enable row level security;
			create policy "own" on public.profiles for select using ((select auth.uid()) = id);
			create policy "own too" on public.profiles for all to authenticated using (id = auth.uid());`,
		// anon may read only these columns; the migration grants
		// authenticated table-wide SELECT, so a policy for them would warn.
		"anon policy without access to the billing columns": `
			create table public.profiles (id uuid primary key references auth.users (id), username text);
			alter table public.profiles enable row level security;
			revoke all on public.profiles from anon;
			grant select (id, username) on public.profiles to anon;
			create policy "Public usernames" on public.profiles for select to anon using (true);`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := testdb.NewEmpty(t)
			for _, w := range migrateWithWarnings(t, db, setup) {
				t.Errorf("unexpected WARNING: %s", w.Message)
			}
		})
	}
}

// On the profiles table the migration creates, clients get no more than
// select and update (authenticated only), so even a starter policy added
// later shows anon nothing.
func TestCreatedProfilesGiveAnonNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.db.MustExec(t, `create policy "Public profiles are viewable by everyone." on public.profiles for select using (true)`)
	err := f.db.AsAnon(t, ctx, func(tx pgx.Tx) error {
		_, err := count(ctx, tx, `select count(*) from public.profiles where active_plan is not null`)
		return err
	})
	wantState(t, err, insufficientPrivilege)
}
