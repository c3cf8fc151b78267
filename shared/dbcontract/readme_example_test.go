package dbcontract_test

// The README's SQL example (section "Usage limits"), run as written:
// triggers on an app's properties table that count in the same
// transaction as the insert and give the unit back on delete.

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"billing/internal/testdb"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// readmeSQL returns the README's sql code block that contains marker.
func readmeSQL(t *testing.T, marker string) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(string(data), "```sql\n")[1:] {
		code, _, _ := strings.Cut(block, "```")
		if strings.Contains(code, marker) {
			return code
		}
	}
	t.Fatalf("README.md has no sql block with %q", marker)
	return ""
}

func TestReadmePropertiesTriggerExample(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	syncCatalog(t, db, exampleCatalog(t, "real-estate")) // free: 3 properties held, 3 a month
	db.MustExec(t, `create table public.properties (
		id uuid primary key default gen_random_uuid(),
		user_id uuid not null default auth.uid() references auth.users (id),
		name text not null check (name <> ''))`)
	db.MustExec(t, `alter table public.properties enable row level security`)
	db.MustExec(t, `create policy own on public.properties for all to authenticated
		using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id)`)
	db.MustExec(t, `grant select, insert, delete on public.properties to authenticated`)
	db.MustExec(t, readmeSQL(t, "function public.properties_count_usage"))
	user := db.CreateUser(t, "")

	// create and remove run as the signed-in user, as supabase-js does.
	create := func(name string) (string, error) {
		var id string
		err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `insert into public.properties (name) values ($1) returning id::text`, name).Scan(&id)
		})
		return id, err
	}
	remove := func(id string) {
		t.Helper()
		if err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `delete from public.properties where id = $1`, id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	held := func() (used, rows int) {
		t.Helper()
		if err := db.Pool.QueryRow(ctx, `select coalesce((select used from public.usage_limits
			where user_id = $1 and counter = 'properties'), 0), (select count(*) from public.properties where user_id = $1)`,
			user).Scan(&used, &rows); err != nil {
			t.Fatal(err)
		}
		return used, rows
	}
	wantLimit := func(err error, what string) {
		t.Helper()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Hint != "limit_reached" {
			t.Errorf("%s: error %v, want hint limit_reached", what, err)
		}
	}

	var ids []string
	for i := range 2 {
		id, err := create("p")
		if err != nil {
			t.Fatalf("property %d: %v", i+1, err)
		}
		ids = append(ids, id)
	}
	// A failed insert counts nothing: the whole statement rolls back.
	if _, err := create(""); sqlState(err) != "23514" {
		t.Errorf("insert that fails its check: %v, want SQLSTATE 23514", err)
	}
	if used, rows := held(); used != 2 || rows != 2 {
		t.Errorf("after a failed insert: used %d, %d rows; want 2, 2 (the count rolled back)", used, rows)
	}
	if _, err := create("p"); err != nil {
		t.Fatalf("property 3: %v", err)
	}
	_, err := create("p")
	wantLimit(err, "4th property")
	if used, rows := held(); used != 3 || rows != 3 {
		t.Errorf("after a refused 4th: used %d, %d rows; want 3, 3", used, rows)
	}

	remove(ids[0])
	remove(ids[0]) // deletes nothing: gives nothing back
	if used, rows := held(); used != 2 || rows != 2 {
		t.Errorf("after deleting one twice: used %d, %d rows; want 2, 2", used, rows)
	}
	// A free cap slot, but the month's 3 registrations are used: refused,
	// and the property count is rolled back with it.
	_, err = create("p")
	wantLimit(err, "4th registration this month")
	if used, rows := held(); used != 2 || rows != 2 {
		t.Errorf("after a refused monthly count: used %d, %d rows; want 2, 2", used, rows)
	}
	// The server deleting a row (no user session) gives the unit back too.
	db.MustExec(t, `delete from public.properties where id = $1`, ids[1])
	if used, rows := held(); used != 1 || rows != 1 {
		t.Errorf("after a server-side delete: used %d, %d rows; want 1, 1", used, rows)
	}
}
