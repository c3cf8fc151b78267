package cancelsub_test

import (
	"context"
	"net/http"
	"testing"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
)

// TestCancelReleasesAScheduledDowngrade: Stripe refuses to change the
// cancel behavior of a subscription a schedule manages, so a cancel of a
// subscription with a scheduled downgrade releases the schedule first; the
// downgrade is gone and the subscription ends at the period end.
func TestCancelReleasesAScheduledDowngrade(t *testing.T) {
	w := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{})
	_, token := w.Subscribe(t, "sched", fntest.Sub{Status: "active", Plan: "premium"})
	w.DB.MustExec(t, `insert into public.subscription_schedules (id, subscription_id, customer_id, status,
		scheduled_price_id, scheduled_plan, scheduled_change_at, state_at)
		values ('sub_sched_c', 'sub_sched', 'cus_sched', 'active', $1, 'standard', $2, now() - interval '1 hour')`,
		fntest.StandardPrice, fntest.DefaultPeriodEnd)
	w.Proxy.Rewrite(http.MethodPost, "/v1/subscription_schedules/", func(_ stripetest.Request, body map[string]any) {
		for k := range body {
			delete(body, k)
		}
		body["id"], body["object"], body["customer"], body["status"] = "sub_sched_c", "subscription_schedule", "cus_sched", "released"
		body["subscription"], body["released_subscription"], body["current_phase"], body["phases"] = nil, "sub_sched", nil, []any{}
	})
	code, body := w.Post(t, token, `{}`)
	if code != 200 || body["cancelAtPeriodEnd"] != true || body["scheduledPlan"] != nil || body["plan"] != "premium" {
		t.Fatalf("%d %v", code, body)
	}
	posts := w.Proxy.Requests(http.MethodPost, "/v1/")
	if len(posts) != 2 || posts[0].Path != "/v1/subscription_schedules/sub_sched_c/release" || posts[1].Path != "/v1/subscriptions/sub_sched" {
		t.Fatalf("calls %+v, want the release then the cancel", posts)
	}
	if posts[0].IdempotencyKey != "cancel-subscription:release:sub_sched_c" || posts[0].Form.Get("preserve_cancel_date") != "true" {
		t.Errorf("release %+v", posts[0])
	}
	var status string
	if err := w.DB.Pool.QueryRow(context.Background(), `select status from public.subscription_schedules where id = 'sub_sched_c'`).Scan(&status); err != nil || status != "released" {
		t.Errorf("stored schedule %q %v", status, err)
	}
}
