package stripesync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/stripesync"
)

func TestRefetchWait(t *testing.T) {
	read := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := read.Add(d); return &v }
	tests := []struct {
		name   string
		stored *time.Time
		want   time.Duration
	}{
		{"not stored", nil, time.Second},
		{"same second", at(0), time.Second},
		{"one second ahead", at(time.Second), 2 * time.Second},
		{"two seconds ahead", at(2 * time.Second), 3 * time.Second},
		{"far ahead is capped", at(time.Hour), stripesync.MaxRefetchWait},
		{"behind waits the minimum", at(-time.Minute), time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stripesync.RefetchWait(read, tt.stored); got != tt.want {
				t.Errorf("RefetchWait = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestApplyOwnWriteWhenItsEventWasFirst: our change's webhook event was
// applied before our call returned (the event of this very second), so
// Stripe's answer is "stale" against it. When what is stored is exactly
// the answer, nothing waits and nothing is read again ("current"); when it
// differs in any field, the bounded wait and the fresh read still run and
// apply the answer.
func TestApplyOwnWriteWhenItsEventWasFirst(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	ctx := context.Background()
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	T := time.Now().UTC().Truncate(time.Second)
	tests := []struct {
		name      string
		price     string // of the event of second T
		cancel    bool   // of the event of second T
		wantReads int
		wantRes   string
	}{
		{"stored is the answer", "price_std_test", true, 0, "current"},
		{"stored is not cancelling", "price_std_test", false, 1, "applied"},
		{"stored on another price", "price_prem_test", true, 1, "applied"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, cus := fmt.Sprintf("sub_ow%d", i), fmt.Sprintf("cus_ow%d", i)
			user := db.CreateUser(t, fmt.Sprintf("ow%d@example.com", i))
			answer := subJSON(id, cus, "active", "price_std_test", user, end, true)
			applyEvent(t, s, "evt_ow_c"+id, "customer.subscription.created",
				subJSON(id, cus, "active", "price_std_test", user, end, false), T.Add(-time.Hour))
			applyEvent(t, s, "evt_ow_u"+id, "customer.subscription.updated",
				subJSON(id, cus, "active", tt.price, user, end, tt.cancel), T)

			reads := 0
			read := func(_ context.Context, got string) ([]byte, time.Time, error) {
				reads++
				if got != id {
					t.Errorf("read %s, want %s", got, id)
				}
				return answer, time.Now().UTC().Truncate(time.Second).Add(time.Second), nil
			}
			res, err := s.ApplyOwnWrite(ctx, answer, T, read)
			if err != nil {
				t.Fatal(err)
			}
			if reads != tt.wantReads || res.Subscription != tt.wantRes || !res.SubscriptionStored() {
				t.Fatalf("reads %d, result %q (stored %v); want %d reads, %q", reads, res.Subscription, res.SubscriptionStored(), tt.wantReads, tt.wantRes)
			}
			var cancel bool
			var price string
			if err := db.Pool.QueryRow(ctx, `select cancel_at_period_end, price_id from public.subscriptions where id = $1`, id).
				Scan(&cancel, &price); err != nil {
				t.Fatal(err)
			}
			if !cancel || price != "price_std_test" {
				t.Fatalf("stored cancel=%v price=%s, want the answer's (true, price_std_test)", cancel, price)
			}
		})
	}
}
