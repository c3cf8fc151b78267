package webhook_test

import (
	"bytes"
	"os"
	"strconv"
	"testing"
	"time"
)

// customerDeletedEvent is the hand-written customer.deleted event of
// testdata/customer (API 2023-10-16: data.object is the customer as it was),
// created now.
func customerDeletedEvent(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/customer/customer.deleted__2023-10-16-handwritten.json")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(raw, []byte(`"created": 1764547200`),
		[]byte(`"created": `+strconv.FormatInt(time.Now().Unix(), 10)), 1)
}

// TestCustomerDeletedUnlinks: a customer deleted in Stripe is unlinked from
// its user, so that the user's next checkout creates a new customer instead
// of failing on the deleted one; its subscriptions stay as the user's
// history, and the event is recorded once.
func TestCustomerDeletedUnlinks(t *testing.T) {
	e := newEnv(t)
	const user = "00000000-0000-4000-8000-00000000de11"
	const other = "00000000-0000-4000-8000-00000000de12"
	createUser(t, e.db, user, "del1@example.com")
	createUser(t, e.db, other, "del2@example.com")
	e.db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_Deleted0001' where id = $1`, user)
	e.db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_Other0001' where id = $1`, other)
	for _, s := range []struct {
		id   string
		user any
	}{{"sub_DelHist1", user}, {"sub_DelHist2", nil}} {
		e.db.MustExec(t, `insert into public.subscriptions (id, user_id, customer_id, status, price_id, plan, state_at)
			values ($1, $2, 'cus_Deleted0001', 'canceled', $3, 'standard', now() - interval '1 day')`, s.id, s.user, priceStandard)
	}
	body := customerDeletedEvent(t)
	out := e.mustDeliver(body)
	if out["status"] != "processed" {
		t.Errorf("answer %v, want processed", out)
	}
	if got := e.scalar(`select stripe_customer_id from public.profiles where id = $1`, user); got != nil {
		t.Fatalf("profile still linked to %v", got)
	}
	if got := e.scalar(`select stripe_customer_id from public.profiles where id = $1`, other); got != "cus_Other0001" {
		t.Errorf("another user's customer changed to %v", got)
	}
	if n := e.count(`select count(*) from public.subscriptions where customer_id = 'cus_Deleted0001' and user_id = $1`, user); n != 2 {
		t.Errorf("%d of 2 history rows are the user's", n)
	}
	if got := e.scalar(`select status from public.stripe_events where id = 'evt_1CustomerDeleted0001'`); got != "processed" {
		t.Errorf("event recorded %v", got)
	}
	// Stripe delivers it again: a duplicate, nothing changes.
	if out := e.mustDeliver(body); out["status"] != "duplicate" {
		t.Errorf("second delivery %v, want duplicate", out)
	}
}
