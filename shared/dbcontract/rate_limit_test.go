package dbcontract_test

import (
	"context"
	"testing"
	"time"

	"billing/internal/testdb"

	"github.com/jackc/pgx/v5"
)

// TestRateLimitHit: billing_rate_limit_hit counts calls per user and
// bucket in fixed windows, refuses over the limit with the seconds to the
// next window, starts over in the next window, and is server-only.
func TestRateLimitHit(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	a, b := db.CreateUser(t, "ra@example.com"), db.CreateUser(t, "rb@example.com")
	type decision struct {
		Allowed    bool `json:"allowed"`
		Hits       int  `json:"hits"`
		RetryAfter int  `json:"retry_after"`
	}
	hit := func(user, bucket string, limit, window int) decision {
		var d decision
		superJSON(t, db, "public.billing_rate_limit_hit($1, $2, $3, $4)", &d, user, bucket, limit, window)
		return d
	}
	// Start at the beginning of a 2 s window, so the three calls share it.
	for time.Now().UnixMilli()%2000 > 200 {
		time.Sleep(20 * time.Millisecond)
	}
	for i, want := range []bool{true, true, false} {
		if d := hit(a, "create-checkout-session", 2, 2); d.Allowed != want || d.Hits != i+1 {
			t.Fatalf("call %d: %+v, want allowed %v", i+1, d, want)
		} else if !want && (d.RetryAfter < 1 || d.RetryAfter > 2) {
			t.Fatalf("retry_after %d, want 1..2", d.RetryAfter)
		}
	}
	if d := hit(b, "create-checkout-session", 2, 2); !d.Allowed || d.Hits != 1 {
		t.Fatalf("another user shares the count: %+v", d)
	}
	if d := hit(a, "cancel-subscription", 2, 2); !d.Allowed {
		t.Fatalf("another function shares the count: %+v", d)
	}
	time.Sleep(2 * time.Second)
	if d := hit(a, "create-checkout-session", 2, 2); !d.Allowed || d.Hits != 1 {
		t.Fatalf("the next window did not start over: %+v", d)
	}
	var rows int
	if err := db.Pool.QueryRow(ctx, `select count(*) from public.billing_rate_limits`).Scan(&rows); err != nil || rows != 3 {
		t.Fatalf("%d rows (%v), want one per user and function", rows, err)
	}
	for _, role := range []string{"anon", "authenticated"} {
		err := db.As(t, ctx, role, map[string]any{"sub": a, "role": role}, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `select public.billing_rate_limit_hit($1, 'x', 1, 60)`, a)
			return err
		})
		wantState(t, err, insufficientPrivilege)
	}
}
