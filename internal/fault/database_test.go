package fault

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/stripetest/fntest"
	"billing/internal/testdb"
	"billing/shared/httpkit"
)

// TestDatabaseStopsAndComesBack: while the database cannot be reached,
// webhooks answer 5xx (so Stripe retries) and check-subscription 503
// unavailable, never a wrong answer; when it is back, the same functions,
// not restarted, apply the retried events once each.
func TestDatabaseStopsAndComesBack(t *testing.T) {
	db := testdb.New(t)
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.Addr()
	env := map[string]string{"DATABASE_URL": u.String(), "STRIPE_WEBHOOK_SECRET": webhookSecret}
	check := fntest.Start(t, checksub.Spec, fntest.Options{DB: db, Env: env})
	hook := fntest.Start(t, webhook.Spec, fntest.Options{DB: db, Env: env})

	users := []string{db.CreateUser(t, ""), db.CreateUser(t, "")}
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	events := [][]byte{
		subscriptionEvent(t, "evt_db_1", "created", "sub_db_1", users[0], false, at),
		subscriptionEvent(t, "evt_db_2", "created", "sub_db_2", users[1], false, at),
		subscriptionEvent(t, "evt_db_3", "updated", "sub_db_1", users[0], true, at.Add(time.Second)),
	}
	subscribed := func(user string) (int, map[string]any) {
		return check.Do(t, fntest.Call{Method: http.MethodGet, Token: check.Token(t, user, "")})
	}

	if code := deliver(t, hook.URL, events[0]); code != http.StatusOK {
		t.Fatalf("before the outage: %d", code)
	}
	if code, body := subscribed(users[0]); code != http.StatusOK || body["subscribed"] != true {
		t.Fatalf("before the outage: %d %v", code, body)
	}

	proxy.Stop()
	for i, ev := range events {
		if code := deliver(t, hook.URL, ev); code < 500 {
			t.Fatalf("event %d while the database is down: %d, want 5xx so that Stripe retries", i, code)
		}
	}
	for _, user := range users {
		code, body := subscribed(user)
		if code != http.StatusServiceUnavailable || body["error"] != httpkit.CodeUnavailable {
			t.Fatalf("check-subscription while the database is down: %d %v, want 503 unavailable", code, body)
		}
	}

	proxy.Start()
	// Stripe retries everything, some events twice, in another order.
	for _, i := range []int{2, 1, 0, 1, 2} {
		var code int
		for try := 0; try < 20; try++ { // the pool reconnects on its own
			if code = deliver(t, hook.URL, events[i]); code == http.StatusOK {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if code != http.StatusOK {
			t.Fatalf("event %d after the database is back: %d", i, code)
		}
	}
	var applied int
	if err := db.Pool.QueryRow(context.Background(), `select count(*) from public.stripe_events where id like 'evt_db_%'`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != len(events) {
		t.Fatalf("%d event rows, want %d (each once)", applied, len(events))
	}
	code, body := subscribed(users[0])
	if code != http.StatusOK || body["subscribed"] != true || body["cancelAtPeriodEnd"] != true {
		t.Fatalf("user 1 after recovery: %d %v", code, body)
	}
	if code, body := subscribed(users[1]); code != http.StatusOK || body["subscribed"] != true || body["cancelAtPeriodEnd"] != false {
		t.Fatalf("user 2 after recovery: %d %v", code, body)
	}
}
