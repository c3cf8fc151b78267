package dbcontract_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"billing/internal/testdb"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes the tests expect.
const (
	insufficientPrivilege = "42501" // permission denied, RLS violation, our guards
	invalidParameterValue = "22023" // bad function arguments
)

// sqlState returns err's SQLSTATE, or "" when err is nil or not from Postgres.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// wantState fails t unless err carries the SQLSTATE code.
func wantState(t *testing.T, err error, code string) {
	t.Helper()
	if got := sqlState(err); got != code {
		t.Errorf("error = %v (SQLSTATE %q), want SQLSTATE %s", err, got, code)
	}
}

// count runs a count(*) query in tx.
func count(ctx context.Context, tx pgx.Tx, sql string, args ...any) (int, error) {
	var n int
	err := tx.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

// callJSON runs "select <call>" in tx and decodes the jsonb result into out.
func callJSON(ctx context.Context, tx pgx.Tx, call string, out any, args ...any) error {
	var raw []byte
	if err := tx.QueryRow(ctx, "select "+call, args...).Scan(&raw); err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// superJSON calls a function as the superuser (no role switch) and decodes
// its jsonb result, failing t on an error.
func superJSON(t *testing.T, db *testdb.DB, call string, out any, args ...any) {
	t.Helper()
	var raw []byte
	if err := db.Pool.QueryRow(context.Background(), "select "+call, args...).Scan(&raw); err != nil {
		t.Fatalf("select %s: %v", call, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decode %s: %v (%s)", call, err, raw)
	}
}

// fixture is a database with two users, A and B, each with a Stripe
// customer and one subscription, a Stripe event and an outbox email.
type fixture struct {
	db   *testdb.DB
	a, b string // user IDs
}

// newFixture creates the database and rows of a fixture.
func newFixture(t *testing.T) fixture {
	t.Helper()
	db := testdb.New(t)
	f := fixture{db: db, a: db.CreateUser(t, "a@example.com"), b: db.CreateUser(t, "b@example.com")}
	for _, u := range []struct{ id, cus, sub string }{{f.a, "cus_A", "sub_A"}, {f.b, "cus_B", "sub_B"}} {
		db.MustExec(t, `update public.profiles set stripe_customer_id = $2, active_plan = 'standard',
			active_status = 'active', active_subscription_id = $3 where id = $1`, u.id, u.cus, u.sub)
		db.MustExec(t, `insert into public.subscriptions (id, user_id, customer_id, status, price_id, plan, state_at)
			values ($1, $2, $3, 'active', 'price_std', 'standard', now())`, u.sub, u.id, u.cus)
		db.MustExec(t, `insert into public.usage_limits (user_id, counter, limit_value) values ($1, 'properties', 10)`, u.id)
		db.MustExec(t, `insert into public.email_outbox (event_id, kind, user_id) values ($1, 'subscription_started', $2)`,
			"evt_"+u.sub, u.id)
	}
	db.MustExec(t, `insert into public.stripe_events (id, type, payload) values ('evt_1', 'customer.subscription.created', '{}')`)
	return f
}
