package fault

// TestWebhookEventWithANULEscape: a signed Stripe event whose JSON holds
// the escape \u0000 in a field billing does not read (a subscription's
// description) is valid JSON and a valid event, but jsonb cannot store
// \u0000: it was answered 500 on every delivery (Stripe retries for days)
// and never applied, on both data paths. It is applied, with the escape
// stored as \ufffd.

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/stripetest/fntest"
	"billing/internal/testdb"
)

func TestWebhookEventWithANULEscape(t *testing.T) {
	db := testdb.New(t)
	for _, rest := range []bool{false, true} {
		name := "pgx"
		if rest {
			name = "REST"
		}
		t.Run(name, func(t *testing.T) {
			hook := fntest.Start(t, webhook.Spec, fntest.Options{DB: db, Path: map[bool]string{false: "pgx", true: "rest"}[rest], Env: map[string]string{"STRIPE_WEBHOOK_SECRET": webhookSecret}})
			user := db.CreateUser(t, "")
			at := time.Now().Add(-time.Minute).Truncate(time.Second)
			ev := subscriptionEvent(t, "evt_nul_"+name, "created", "sub_nul_"+name, user, false, at)
			ev = bytes.Replace(ev, []byte(`"status":"active"`), []byte(`"status":"active","description":"Seat A\u0000"`), 1)
			var codes []int
			for try := 0; try < 3; try++ {
				codes = append(codes, deliver(t, hook.URL, ev))
			}
			var n int
			_ = db.Pool.QueryRow(context.Background(), `select count(*) from public.subscriptions where id = $1`, "sub_nul_"+name).Scan(&n)
			t.Logf("%s: answers %v, subscription rows %d", name, codes, n)
			if i := bytes.Index([]byte(hook.Logs()), []byte(`"cause"`)); i >= 0 {
				t.Logf("first logged cause: %.300s", hook.Logs()[i:])
			}
			if codes[0] != http.StatusOK || n != 1 {
				t.Errorf("%s: a valid signed event is answered %v, %d subscription rows; want 200 and the subscription stored", name, codes, n)
			}
			var desc string
			_ = db.Pool.QueryRow(context.Background(), `select payload #>> '{data,object,description}' from public.stripe_events where id = $1`, "evt_nul_"+name).Scan(&desc)
			if desc != "Seat A\ufffd" {
				t.Errorf("%s: stored description %q, want the escape as U+FFFD", name, desc)
			}

		})
	}
}
