package ops_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"billing/internal/ops"
	"billing/internal/stripetest/fntest"
	"billing/shared/plans"
)

// A second live subscription (paid in two tabs) shows in `billing status`:
// both IDs, the one that counts first; access is the better one.
func TestStatusShowsASecondLiveSubscription(t *testing.T) {
	e := startWebhook(t, nil)
	user := e.DB.CreateUser(t, "two@example.com")
	for _, o := range []ops.EventOptions{
		{Type: "customer.subscription.created", UserID: user, CustomerID: "cus_two", SubscriptionID: "sub_two_a", PriceID: fntest.StandardPrice},
		{Type: "customer.subscription.created", UserID: user, CustomerID: "cus_two", SubscriptionID: "sub_two_b", PriceID: fntest.PremiumPrice},
	} {
		if code, body, _ := deliver(t, e, o); code != 200 {
			t.Fatalf("%d %v", code, body)
		}
	}
	cat, err := plans.Load("", "test", func(k string) string { return fntest.DefaultEnv()[k] })
	if err != nil {
		t.Fatal(err)
	}
	st, err := ops.Status(context.Background(), e.Deps.Store, cat, user, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(st.Concurrent))
	if !slices.Equal(got, []string{"sub_two_a", "sub_two_b"}) || !st.Access.Subscribed {
		t.Fatalf("concurrent %v, access %+v", st.Concurrent, st.Access)
	}
	var buf bytes.Buffer
	if err := st.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "WARNING: 2 subscriptions grant access now") {
		t.Fatalf("no warning:\n%s", buf.String())
	}
}
