package stripesync_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/plans"
	"billing/shared/store"
	"billing/shared/stripesync"
)

func catalog(t testing.TB) *plans.Catalog {
	t.Helper()
	cat, err := plans.Load("", "test", func(k string) string {
		return map[string]string{
			"STRIPE_STANDARD_PRICE_ID_TEST": "price_std_test",
			"STRIPE_PREMIUM_PRICE_ID_TEST":  "price_prem_test",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func syncer(t testing.TB, db *testdb.DB) *stripesync.Syncer {
	t.Helper()
	pg, err := store.OpenPG(context.Background(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	return &stripesync.Syncer{Store: store.New(pg), Catalog: catalog(t)}
}

// subJSON is a 2023-10-16 shaped subscription.
func subJSON(id, customer, status, price, uid string, periodEnd time.Time, cancel bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": id, "object": "subscription", "customer": customer, "status": status,
		"livemode": false, "created": time.Now().Add(-2 * time.Hour).Unix(), // new: its emails are due
		"current_period_start": periodEnd.Add(-30 * 24 * time.Hour).Unix(),
		"current_period_end":   periodEnd.Unix(), "cancel_at_period_end": cancel,
		"metadata": map[string]string{"supabase_uid": uid},
		"items":    map[string]any{"data": []any{map[string]any{"price": map[string]any{"id": price}, "quantity": 1}}},
	})
	return b
}

func TestApplySubscriptionOrdersByStripeTime(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	ctx := context.Background()
	user := db.CreateUser(t, "a@example.com")
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

	res, err := s.ApplySubscription(ctx, subJSON("sub_1", "cus_1", "active", "price_std_test", user, end, false), t0, stripesync.SourceAPI)
	if err != nil {
		t.Fatal(err)
	}
	if res.Subscription != "applied" || len(res.UserIDs) != 1 || res.UserIDs[0] != user || len(res.EmailIDs) != 1 {
		t.Fatalf("first apply = %+v", res)
	}
	// An older state is skipped, and so is an equal-second API answer (its
	// stamp is a lower bound of Stripe's read: the stored state may be
	// newer); a later one applies.
	res, err = s.ApplySubscription(ctx, subJSON("sub_1", "cus_1", "canceled", "price_std_test", user, end, false), t0.Add(-time.Second), stripesync.SourceAPI)
	if err != nil || res.Subscription != "stale" {
		t.Fatalf("older = %+v, %v", res, err)
	}
	res, err = s.ApplySubscription(ctx, subJSON("sub_1", "cus_1", "canceled", "price_std_test", user, end, false), t0, stripesync.SourceAPI)
	if err != nil || res.Subscription != "stale" {
		t.Fatalf("same second api = %+v, %v", res, err)
	}
	res, err = s.ApplySubscription(ctx, subJSON("sub_1", "cus_1", "active", "price_prem_test", user, end, true), t0.Add(time.Second), stripesync.SourceAPI)
	if err != nil || res.Subscription != "applied" {
		t.Fatalf("next second api = %+v, %v", res, err)
	}
	var plan, status, customer string
	var cancel bool
	if err := db.Pool.QueryRow(ctx, `select active_plan, active_status, cancel_at_period_end, stripe_customer_id from profiles where id = $1`, user).
		Scan(&plan, &status, &cancel, &customer); err != nil {
		t.Fatal(err)
	}
	if plan != "premium" || status != "active" || !cancel || customer != "cus_1" {
		t.Fatalf("snapshot = %s %s %v %s", plan, status, cancel, customer)
	}

	_, err = s.ApplySubscription(ctx, subJSON("sub_2", "cus_1", "active", "price_nope", user, end, false), t0, stripesync.SourceAPI)
	var upe *stripesync.UnknownPriceError
	if !errors.As(err, &upe) || upe.PriceID != "price_nope" || upe.SubscriptionID != "sub_2" {
		t.Fatalf("unknown price: %v", err)
	}
}

// TestApplyAnswerLeavesOutEmails: an API answer is applied as source "api"
// like ApplySubscription, but enqueues none of the emails the object calls
// for (the webhook event of the same change does).
func TestApplyAnswerLeavesOutEmails(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	ctx := context.Background()
	user := db.CreateUser(t, "b@example.com")
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

	raw := subJSON("sub_a", "cus_a", "active", "price_std_test", user, end, true)
	st, err := s.Resolve(raw, t0, stripesync.SourceAPI)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.SubscriptionEmails(st)); n == 0 {
		t.Fatal("the object calls for no emails; the test proves nothing")
	}
	res, err := s.ApplyAnswer(ctx, raw, t0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Subscription != "applied" || len(res.UserIDs) != 1 || res.UserIDs[0] != user || len(res.EmailIDs) != 0 {
		t.Fatalf("ApplyAnswer = %+v, want applied for the user and no emails", res)
	}
	var plan string
	var cancel bool
	if err := db.Pool.QueryRow(ctx, `select active_plan, cancel_at_period_end from profiles where id = $1`, user).
		Scan(&plan, &cancel); err != nil {
		t.Fatal(err)
	}
	if plan != "standard" || !cancel {
		t.Fatalf("snapshot = %s %v", plan, cancel)
	}

	_, err = s.ApplyAnswer(ctx, subJSON("sub_b", "cus_a", "active", "price_nope", user, end, false), t0)
	var upe *stripesync.UnknownPriceError
	if !errors.As(err, &upe) || upe.PriceID != "price_nope" {
		t.Fatalf("unknown price: %v", err)
	}
}
