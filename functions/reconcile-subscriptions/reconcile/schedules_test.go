package reconcile_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
)

// TestReconcileSyncsAMissedSchedule: the webhook missed the schedule of a
// downgrade at the period end; the user's reconcile fetches the schedule
// the subscription names, and check-subscription shows the scheduled plan.
// A dry run fetches nothing.
func TestReconcileSyncsAMissedSchedule(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	user := e.DB.CreateUser(t, "")
	fntest.LinkCustomer(t, e.DB, user, "cus_rs")
	s := fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_rs", UserID: user, CustomerID: "cus_rs", Plan: "premium"})
	side.set(fntest.Sub{ID: "sub_rs", UserID: user, CustomerID: "cus_rs", Plan: "premium", PeriodEnd: s.PeriodEnd})
	e.Proxy.Rewrite(http.MethodGet, "/v1/subscriptions", func(_ stripetest.Request, body map[string]any) {
		if data, ok := body["data"].([]any); ok {
			for _, o := range data {
				o.(map[string]any)["schedule"] = "sub_sched_rs"
			}
		}
	})
	begin, end := s.PeriodEnd.AddDate(0, -1, 0).Unix(), s.PeriodEnd.Unix()
	e.Proxy.Rewrite(http.MethodGet, "/v1/subscription_schedules/", func(_ stripetest.Request, body map[string]any) {
		for k := range body {
			delete(body, k)
		}
		body["id"], body["object"], body["customer"], body["subscription"] = "sub_sched_rs", "subscription_schedule", "cus_rs", "sub_rs"
		body["status"], body["livemode"], body["end_behavior"] = "active", false, "release"
		body["current_phase"] = map[string]any{"start_date": begin, "end_date": end}
		body["phases"] = []any{
			map[string]any{"start_date": begin, "end_date": end, "items": []any{map[string]any{"price": fntest.PremiumPrice, "quantity": 1}}},
			map[string]any{"start_date": end, "end_date": s.PeriodEnd.AddDate(0, 1, 0).Unix(), "items": []any{map[string]any{"price": fntest.StandardPrice, "quantity": 1}}},
		}
	})
	r := reconciler(e)
	if _, err := r.Run(context.Background(), reconcile.Options{UserID: user}); err != nil {
		t.Fatal(err)
	}
	if n := e.Proxy.Count(http.MethodGet, "/v1/subscription_schedules/"); n != 0 {
		t.Fatalf("a dry run fetched %d schedules", n)
	}
	if _, err := r.Run(context.Background(), reconcile.Options{UserID: user, Apply: true}); err != nil {
		t.Fatal(err)
	}
	got := accessOf(t, e, user)
	if got.ScheduledPlan == nil || *got.ScheduledPlan != "standard" || got.ScheduledChangeAt == nil ||
		!got.ScheduledChangeAt.Equal(time.Unix(end, 0)) || got.Plan != "premium" {
		t.Fatalf("after reconcile: plan %s, scheduled %v at %v", got.Plan, got.ScheduledPlan, got.ScheduledChangeAt)
	}
}
