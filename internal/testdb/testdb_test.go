package testdb_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"billing/internal/testdb"
	"billing/shared/migrate"

	"github.com/jackc/pgx/v5"
)

// adminURL returns TEST_DATABASE_URL, failing t like New does when unset.
func adminURL(t *testing.T) string {
	t.Helper()
	u := testdb.ServerURL()
	if u == "" {
		t.Fatal(testdb.EnvURL + " is not set: run `make test`")
	}
	return u
}

// databaseExists asks the maintenance database whether name exists.
func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var ok bool
	if err := conn.QueryRow(ctx, `select exists (select 1 from pg_database where datname = $1)`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestNewMigratesAndCleanupDrops(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		db := testdb.New(t)
		name = db.Name
		if !databaseExists(t, name) {
			t.Fatalf("database %s does not exist during the test", name)
		}
		pending, err := migrate.Pending(context.Background(), db.Conn(t))
		if err != nil || len(pending) != 0 {
			t.Errorf("Pending = %v, %v; want none", pending, err)
		}
		if got := db.Pool.Config().MaxConns; got > 8 {
			t.Errorf("pool MaxConns = %d, want a few", got)
		}
	})
	if name == "" {
		t.Fatal("inner test created no database")
	}
	if databaseExists(t, name) {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestNewGivesEachTestItsOwnDatabase(t *testing.T) {
	t.Parallel()
	a, b := testdb.NewEmpty(t), testdb.NewEmpty(t)
	if a.Name == b.Name || a.URL == b.URL {
		t.Errorf("two databases share a name: %s, %s", a.Name, b.Name)
	}
	if !strings.Contains(a.URL, "/"+a.Name) {
		t.Errorf("URL %s does not name database %s", a.URL, a.Name)
	}
}

// fatalRecorder is a testing.TB whose Fatal records the message and stops
// the goroutine, as testing.T's does, without failing the real test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *fatalRecorder) Helper() {}

func TestNewFailsWithoutURL(t *testing.T) {
	t.Setenv(testdb.EnvURL, "")
	for _, tc := range []struct {
		name string
		new  func(testing.TB) *testdb.DB
	}{
		{"New", testdb.New},
		{"NewEmpty", testdb.NewEmpty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &fatalRecorder{TB: t}
			var wg sync.WaitGroup
			wg.Go(func() { tc.new(rec) })
			wg.Wait()
			if !strings.Contains(rec.msg, "TEST_DATABASE_URL is not set: run `make test`") {
				t.Errorf("Fatal message = %q", rec.msg)
			}
		})
	}
}

func TestCreateUserCreatesProfile(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	tests := []struct{ email string }{{"one@example.com"}, {"two@example.com"}, {""}}
	for _, tc := range tests {
		t.Run("email="+tc.email, func(t *testing.T) {
			id := db.CreateUser(t, tc.email)
			var n int
			if err := db.Pool.QueryRow(ctx, `select count(*) from public.profiles where id = $1`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("user %s has %d profiles, want 1", id, n)
			}
		})
	}
}

func TestRoleHelpers(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	user := db.CreateUser(t, "roles@example.com")

	type identity struct{ role, uid, claimRole string }
	read := func(out *identity) func(pgx.Tx) error {
		return func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `select current_user::text, coalesce(auth.uid()::text, ''), coalesce(auth.role(), '')`).
				Scan(&out.role, &out.uid, &out.claimRole)
		}
	}
	tests := []struct {
		name string
		run  func(fn func(pgx.Tx) error) error
		want identity
	}{
		{"AsUser", func(fn func(pgx.Tx) error) error { return db.AsUser(t, ctx, user, fn) },
			identity{"authenticated", user, "authenticated"}},
		{"AsAnon", func(fn func(pgx.Tx) error) error { return db.AsAnon(t, ctx, fn) },
			identity{"anon", "", "anon"}},
		{"AsServiceRole", func(fn func(pgx.Tx) error) error { return db.AsServiceRole(t, ctx, fn) },
			identity{"service_role", "", "service_role"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got identity
			if err := tc.run(read(&got)); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("identity = %+v, want %+v", got, tc.want)
			}
		})
	}

	t.Run("role ends with the transaction", func(t *testing.T) {
		var role string
		if err := db.Pool.QueryRow(ctx, `select current_user::text`).Scan(&role); err != nil {
			t.Fatal(err)
		}
		if role == "authenticated" || role == "anon" || role == "service_role" {
			t.Errorf("pool connection still runs as %s", role)
		}
	})

	t.Run("fn error rolls back", func(t *testing.T) {
		sentinel := fmt.Errorf("stop")
		err := db.AsServiceRole(t, ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `update public.profiles set active_plan = 'rolled_back' where id = $1`, user); err != nil {
				return err
			}
			return sentinel
		})
		if err != sentinel {
			t.Fatalf("err = %v, want the fn's error", err)
		}
		var plan *string
		if err := db.Pool.QueryRow(ctx, `select active_plan from public.profiles where id = $1`, user).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		if plan != nil {
			t.Errorf("active_plan = %q after rollback, want null", *plan)
		}
	})
}
