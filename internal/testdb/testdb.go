// Package testdb gives tests a database of their own on a real PostgreSQL
// server: a uniquely named database with every migration applied, dropped
// when the test ends, plus helpers that act as Supabase's roles (a signed-in
// user, anon, service_role) so that row level security is exercised as it is
// in production.
//
// The server comes from TEST_DATABASE_URL, a superuser URL of a maintenance
// database, e.g. postgres://postgres@127.0.0.1:55433/postgres?sslmode=disable.
// `make test` starts a server and sets it; a test that finds it unset fails
// (it never skips, so a missing database cannot pass CI silently).
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"billing/shared/migrate"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names the environment variable with the test server's URL.
const EnvURL = "TEST_DATABASE_URL"

// maxConns bounds each test database's pool.
const maxConns = 4

// setupTimeout bounds creating, migrating and dropping a database.
const setupTimeout = 2 * time.Minute

// DB is one test database. URL connects to it as the superuser of
// TEST_DATABASE_URL; Pool is a small pool on that URL. Both are valid until
// the test that created the DB ends.
type DB struct {
	// URL is the connection URL of this database (superuser).
	URL string
	// Pool is a pool of at most a few connections to this database.
	Pool *pgxpool.Pool
	// Name is the database name.
	Name string
}

// New creates a database with every migration applied (bootstrap included)
// and drops it when t ends. It fails t when TEST_DATABASE_URL is not set.
func New(t testing.TB) *DB {
	t.Helper()
	db := create(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatalf("testdb: connect to %s: %v", db.Name, err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := migrate.Apply(ctx, conn, nil); err != nil {
		t.Fatalf("testdb: migrate %s: %v", db.Name, err)
	}
	db.openPool(t)
	return db
}

// NewEmpty creates an empty database, without bootstrap or migrations, and
// drops it when t ends: for tests of the migrations themselves. Its Pool is
// open like New's.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	db := create(t)
	db.openPool(t)
	return db
}

// Conn opens a single connection to the database, closed when t ends.
func (db *DB) Conn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatalf("testdb: connect to %s: %v", db.Name, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// MustExec runs sql as the superuser (no role switch, row level security
// bypassed) and fails t on an error: for setting up test data.
func (db *DB) MustExec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("testdb: %s: %v", firstLine(sql), err)
	}
}

// CreateUser inserts a user into auth.users (the billing trigger creates the
// profile) and returns the new user's ID.
func (db *DB) CreateUser(t testing.TB, email string) (userID string) {
	t.Helper()
	err := db.Pool.QueryRow(context.Background(),
		`insert into auth.users (email) values (nullif($1, '')) returning id::text`, email,
	).Scan(&userID)
	if err != nil {
		t.Fatalf("testdb: create user %q: %v", email, err)
	}
	return userID
}

// create makes a uniquely named empty database and registers its drop.
func create(t testing.TB) *DB {
	t.Helper()
	admin := ServerURL()
	if admin == "" {
		t.Fatal(EnvURL + " is not set: run `make test`")
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("testdb: %s must be a postgres:// URL, got %q", EnvURL, admin)
	}
	name := uniqueName(t)
	u.Path = "/" + name
	u.RawPath = ""

	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := adminExec(ctx, admin, "create database "+pgx.Identifier{name}.Sanitize()+" template template0"); err != nil {
		t.Fatalf("testdb: create database %s: %v", name, err)
	}
	db := &DB{URL: u.String(), Name: name}
	t.Cleanup(func() {
		if db.Pool != nil {
			db.Pool.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := adminExec(ctx, admin, "drop database if exists "+pgx.Identifier{name}.Sanitize()+" with (force)"); err != nil {
			t.Errorf("testdb: drop database %s: %v", name, err)
		}
	})
	return db
}

// openPool opens db.Pool; create's cleanup closes it.
func (db *DB) openPool(t testing.TB) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatalf("testdb: parse %s: %v", db.URL, err)
	}
	cfg.MaxConns = maxConns
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("testdb: open pool on %s: %v", db.Name, err)
	}
	db.Pool = pool
}

// adminExec runs one statement on the maintenance database.
func adminExec(ctx context.Context, adminURL, sql string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

// uniqueName returns a database name that no other test uses, with a hint of
// the test's name for whoever looks at the server while tests run.
func uniqueName(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testdb: random name: %v", err)
	}
	hint := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '_'
	}, t.Name())
	if len(hint) > 30 {
		hint = hint[:30]
	}
	return fmt.Sprintf("billing_test_%s_%s", hex.EncodeToString(b[:]), hint)
}

// firstLine shortens sql for error messages.
func firstLine(sql string) string {
	sql = strings.TrimSpace(sql)
	if i := strings.IndexByte(sql, '\n'); i >= 0 {
		sql = sql[:i] + " ..."
	}
	return sql
}

// ServerURL returns the test server's URL from TEST_DATABASE_URL, or "".
func ServerURL() string { return os.Getenv(EnvURL) }

// The roles Supabase's API switches to, by the JWT's role claim.
const (
	// RoleAuthenticated is the role of a signed-in user's requests.
	RoleAuthenticated = "authenticated"
	// RoleAnon is the role of requests with only the anon key.
	RoleAnon = "anon"
	// RoleServiceRole is the role of requests with the service_role key.
	RoleServiceRole = "service_role"
)

// AsUser runs fn in a transaction as the signed-in user userID would run
// through PostgREST: role authenticated and request.jwt.claims with the
// user's sub, so auth.uid() returns userID and row level security applies.
// The transaction commits when fn returns nil and rolls back otherwise; fn's
// error is returned as is (test it with errors.As for *pgconn.PgError).
// Setting up the transaction fails t.
func (db *DB) AsUser(t testing.TB, ctx context.Context, userID string, fn func(tx pgx.Tx) error) error {
	t.Helper()
	return db.As(t, ctx, RoleAuthenticated, map[string]any{
		"sub":  userID,
		"role": RoleAuthenticated,
		"aud":  RoleAuthenticated,
	}, fn)
}

// AsAnon runs fn like AsUser, as a request with only the anon key (role
// anon, no sub: auth.uid() is null).
func (db *DB) AsAnon(t testing.TB, ctx context.Context, fn func(tx pgx.Tx) error) error {
	t.Helper()
	return db.As(t, ctx, RoleAnon, map[string]any{"role": RoleAnon}, fn)
}

// AsServiceRole runs fn like AsUser, as the server with the service_role
// key (role service_role, which bypasses row level security but has only
// the privileges the migrations grant it).
func (db *DB) AsServiceRole(t testing.TB, ctx context.Context, fn func(tx pgx.Tx) error) error {
	t.Helper()
	return db.As(t, ctx, RoleServiceRole, map[string]any{"role": RoleServiceRole}, fn)
}

// As runs fn in a transaction after SET LOCAL ROLE role and with claims as
// request.jwt.claims (the JSON PostgREST sets from the request's JWT). The
// transaction commits when fn returns nil and rolls back otherwise; fn's
// error is returned as is. Setting up the transaction fails t.
func (db *DB) As(t testing.TB, ctx context.Context, role string, claims map[string]any, fn func(tx pgx.Tx) error) error {
	t.Helper()
	js, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("testdb: encode claims: %v", err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatalf("testdb: begin: %v", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	if _, err := tx.Exec(ctx, `select set_config('request.jwt.claims', $1, true)`, string(js)); err != nil {
		t.Fatalf("testdb: set claims: %v", err)
	}
	if _, err := tx.Exec(ctx, "set local role "+pgx.Identifier{role}.Sanitize()); err != nil {
		t.Fatalf("testdb: set role %s: %v", role, err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
