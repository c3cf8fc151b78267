package reconcile_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"billing/internal/testdb"
)

// The reconcile SQL functions and table are the server's: clients (anon, a
// signed-in user) can neither call nor read them; service_role can.
func TestReconcileSQLPrivileges(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	user := db.CreateUser(t, "priv@example.com")
	calls := map[string]string{
		"billing_reconcile_user_begin":     `select public.billing_reconcile_user_begin(p_user_id => '` + user + `', p_min_interval_seconds => 10)::text`,
		"billing_subscriptions_by_id":      `select public.billing_subscriptions_by_id(p_ids => '{"sub_x"}', p_customer_ids => '{"cus_x"}')::text`,
		"billing_subscriptions_open":       `select public.billing_subscriptions_open(p_after => null, p_limit => 10, p_livemode => false)::text`,
		"billing_events_select":            `select public.billing_events_select(p_status => 'failed')::text`,
		"billing_ops_user_status":          `select public.billing_ops_user_status(p_user_id => '` + user + `', p_event_limit => 5)::text`,
		"billing_stored_subscription_json": `select coalesce(public.billing_stored_subscription_json(p_id => 'sub_x')::text, '')`,
		"billing_reconcile_user_runs":      `select count(*)::text from public.billing_reconcile_user_runs`,
	}
	roles := map[string]func(func(pgx.Tx) error) error{
		"anon":          func(fn func(pgx.Tx) error) error { return db.AsAnon(t, ctx, fn) },
		"authenticated": func(fn func(pgx.Tx) error) error { return db.AsUser(t, ctx, user, fn) },
		"service_role":  func(fn func(pgx.Tx) error) error { return db.AsServiceRole(t, ctx, fn) },
	}
	for name, sql := range calls {
		for role, as := range roles {
			t.Run(name+"/"+role, func(t *testing.T) {
				err := as(func(tx pgx.Tx) error {
					var out string
					return tx.QueryRow(ctx, sql).Scan(&out)
				})
				allowed := role == "service_role"
				var pe *pgconn.PgError
				switch {
				case allowed && err != nil:
					t.Fatalf("service_role cannot: %v", err)
				case !allowed && (!errors.As(err, &pe) || pe.Code != "42501"):
					t.Fatalf("%s: err = %v, want insufficient_privilege", role, err)
				}
			})
		}
	}
}

// billing_reconcile_user_begin: one sync per interval per user, atomically;
// unknown users never sync; bad arguments are refused.
func TestUserBeginInterval(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	user := db.CreateUser(t, "interval@example.com")
	db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_interval' where id = $1`, user)
	begin := func(id string, secs int) (sync bool, customer string, retry int) {
		t.Helper()
		var c *string
		err := db.Pool.QueryRow(ctx, `select (r->>'sync')::boolean, r->>'stripe_customer_id', coalesce((r->>'retry_after_seconds')::int, -1)
			from public.billing_reconcile_user_begin($1, $2) r`, id, secs).Scan(&sync, &c, &retry)
		if err != nil {
			t.Fatal(err)
		}
		if c != nil {
			customer = *c
		}
		return sync, customer, retry
	}
	if s, c, r := begin(user, 10); !s || c != "cus_interval" || r != 0 {
		t.Fatalf("first: %v %q %d", s, c, r)
	}
	if s, _, r := begin(user, 10); s || r < 1 || r > 10 {
		t.Fatalf("second within 10 s: sync %v retry %d", s, r)
	}
	if s, _, _ := begin(user, 0); !s {
		t.Fatal("an interval of 0 must allow a sync")
	}
	if s, _, _ := begin("00000000-0000-4000-8000-00000000beef", 10); s {
		t.Fatal("an unknown user synced")
	}
	for _, secs := range []int{-1, 86401} {
		if _, err := db.Pool.Exec(ctx, `select public.billing_reconcile_user_begin($1, $2)`, user, secs); err == nil {
			t.Errorf("interval %d accepted", secs)
		}
	}
}
