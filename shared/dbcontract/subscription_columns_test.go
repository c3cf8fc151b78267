package dbcontract_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestOwnerCannotReadRawSubscription is finding 8 of the security review:
// subscriptions.raw is the whole Stripe object, metadata an admin set
// included, and its owner could read it through RLS. A signed-in user
// reads the columns an app shows, of their own rows only, and nothing else.
func TestOwnerCannotReadRawSubscription(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.db.MustExec(t, `update public.subscriptions set raw = '{"metadata": {"admin_note": "VIP discount"}}' where user_id = $1`, f.a)

	for _, column := range []string{"raw", "customer_id", "cancellation_comment", "cancellation_reason", "state_at", "*"} {
		t.Run("own "+column, func(t *testing.T) {
			err := f.db.AsUser(t, ctx, f.a, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `select `+column+` from public.subscriptions where user_id = $1`, f.a)
				return err
			})
			wantState(t, err, insufficientPrivilege)
		})
	}
	t.Run("own status, plan and period end", func(t *testing.T) {
		err := f.db.AsUser(t, ctx, f.a, func(tx pgx.Tx) error {
			var id, status, plan string
			if err := tx.QueryRow(ctx, `select id, status, plan from public.subscriptions
				where user_id = $1 and current_period_end is null and not cancel_at_period_end`, f.a).Scan(&id, &status, &plan); err != nil {
				return err
			}
			if id != "sub_A" || status != "active" || plan != "standard" {
				t.Errorf("own subscription %s %s %s", id, status, plan)
			}
			n, err := count(ctx, tx, `select count(*) from public.subscriptions where user_id = $1`, f.b)
			if n != 0 {
				t.Errorf("another user's subscription is visible")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
