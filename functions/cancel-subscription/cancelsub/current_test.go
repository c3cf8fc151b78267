package cancelsub_test

import (
	"testing"
	"time"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/shared/store"
)

func TestCurrent(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	row := func(id, status string, end time.Duration, cancel bool) store.SubscriptionRow {
		return store.SubscriptionRow{ID: id, Status: status, CurrentPeriodEnd: at(end), CancelAtPeriodEnd: cancel}
	}
	tests := []struct {
		name   string
		rows   []store.SubscriptionRow
		wantID string
	}{
		{"none", nil, ""},
		{"only canceled and incomplete", []store.SubscriptionRow{row("a", "canceled", time.Hour, false), row("b", "incomplete", time.Hour, false)}, ""},
		{"active", []store.SubscriptionRow{row("a", "active", time.Hour, false)}, "a"},
		{"past_due counts", []store.SubscriptionRow{row("a", "past_due", time.Hour, false)}, "a"},
		{"newest live wins", []store.SubscriptionRow{row("new", "trialing", time.Hour, false), row("old", "active", time.Hour, false)}, "new"},
		{"a running one beats one whose scheduled end passed",
			[]store.SubscriptionRow{row("ended", "active", -time.Minute, true), row("running", "active", time.Hour, false)}, "running"},
		{"only one whose scheduled end passed", []store.SubscriptionRow{row("ended", "active", -time.Minute, true)}, "ended"},
		{"cancel_at passed", []store.SubscriptionRow{{ID: "x", Status: "active", CurrentPeriodEnd: at(time.Hour), CancelAt: at(-time.Second)},
			row("y", "active", time.Hour, false)}, "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cancelsub.Current(tt.rows, now)
			if ok != (tt.wantID != "") || got.ID != tt.wantID {
				t.Errorf("Current = %q, %v; want %q", got.ID, ok, tt.wantID)
			}
		})
	}
}
