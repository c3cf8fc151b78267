package checksub_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/internal/testdb"
	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/plans"
	"billing/shared/store"
)

// countingCaller counts the database calls made through it.
type countingCaller struct {
	store.Caller
	calls atomic.Int64
}

func (c *countingCaller) Call(ctx context.Context, fn string, args []store.Arg, out any) error {
	c.calls.Add(1)
	return c.Caller.Call(ctx, fn, args, out)
}

// One request, one database call: the state, subscriptions and usage
// counters come back together (billing_check_state).
func TestOneDatabaseCallPerRequest(t *testing.T) {
	db := testdb.New(t)
	pg, err := store.OpenPG(context.Background(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	counter := &countingCaller{Caller: pg}
	prices := map[string]string{"STRIPE_STANDARD_PRICE_ID_TEST": "price_std_test", "STRIPE_PREMIUM_PRICE_ID_TEST": "price_prem_test"}
	cat, err := plans.Load("", plans.ModeTest, func(k string) string { return prices[k] })
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{JWTSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	user := db.CreateUser(t, "")
	insertSub(t, db, user, "sub_rt", "active", "standard", time.Now().Add(20*24*time.Hour).UTC().Truncate(time.Second), false)
	db.MustExec(t, `insert into public.usage_limits (user_id, counter, limit_value, used) values ($1, 'properties', 10, 4)`, user)
	srv := httptest.NewServer(checksub.New(v, store.New(counter), cat, time.Now))
	t.Cleanup(srv.Close)

	code, body := get(t, srv.URL, authtest.Mint(t, secret, auth.MintClaims{UserID: user, Email: "u@example.com"}))
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, body)
	}
	if n := counter.calls.Load(); n != 1 {
		t.Errorf("%d database calls for one request, want 1", n)
	}
	wantCounter(t, body, "properties", "cap", 4, 10)
}
