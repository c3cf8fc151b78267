package dbcontract_test

// The README's SQL example (section "Usage limits"), run as written: an
// app function that counts in the same transaction as its insert.

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

// readmeSQL returns the README's sql code block that defines create_property.
func readmeSQL(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(string(data), "```sql\n")[1:] {
		code, _, _ := strings.Cut(block, "```")
		if strings.Contains(code, "function public.create_property") {
			return code
		}
	}
	t.Fatal("README.md has no sql block defining public.create_property")
	return ""
}

func TestReadmeCreatePropertyExample(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	syncCatalog(t, db, exampleCatalog(t, "real-estate")) // free: 3 properties held, 3 a month
	db.MustExec(t, `create table public.properties (
		id uuid primary key, user_id uuid not null references auth.users (id), name text not null check (name <> ''))`)
	db.MustExec(t, `alter table public.properties enable row level security`)
	db.MustExec(t, `create policy own on public.properties for all to authenticated
		using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id)`)
	db.MustExec(t, `grant select, insert, delete on public.properties to authenticated`)
	db.MustExec(t, readmeSQL(t))
	user := db.CreateUser(t, "")

	create := func(name string) (string, error) {
		var id string
		err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `select public.create_property(p_name => $1)::text`, name).Scan(&id)
		})
		return id, err
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
	// A failed insert counts nothing: the whole transaction rolls back.
	if _, err := create(""); err == nil || sqlState(err) != "23514" {
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

	for range 2 { // a double delete gives one unit back
		if err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `select public.delete_property(p_id => $1)`, ids[0])
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
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
}
