package stripesync

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	t0, t1, t2 := int64(1_790_000_000), int64(1_792_592_000), int64(1_795_184_000)
	phase := func(start, end int64, price any) map[string]any {
		return map[string]any{"start_date": start, "end_date": end, "items": []any{map[string]any{"price": price, "quantity": 1}}}
	}
	obj := func(status string, current any, phases ...any) []byte {
		b, _ := json.Marshal(map[string]any{"id": "sub_sched_1", "object": "subscription_schedule", "customer": "cus_1",
			"subscription": "sub_1", "status": status, "current_phase": current, "phases": phases})
		return b
	}
	cur := func(s, e int64) map[string]any { return map[string]any{"start_date": s, "end_date": e} }
	tests := []struct {
		name      string
		raw       []byte
		nextPrice string
		nextAt    int64
	}{
		{"downgrade at the period end", obj("active", cur(t0, t1), phase(t0, t1, "price_prem"), phase(t1, t2, "price_std")), "price_std", t1},
		{"expanded prices", obj("active", cur(t0, t1), phase(t0, t1, map[string]any{"id": "price_prem"}), phase(t1, t2, map[string]any{"id": "price_std"})), "price_std", t1},
		{"in its last phase", obj("active", cur(t1, t2), phase(t0, t1, "price_prem"), phase(t1, t2, "price_std")), "", 0},
		{"a next phase of the same price", obj("active", cur(t0, t1), phase(t0, t1, "price_std"), phase(t1, t2, "price_std")), "", 0},
		{"released", obj("released", nil, phase(t0, t1, "price_prem"), phase(t1, t2, "price_std")), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if s.ID != "sub_sched_1" || s.CustomerID != "cus_1" || s.SubscriptionID != "sub_1" {
				t.Errorf("schedule %+v", s)
			}
			if s.NextPrice != tt.nextPrice || (tt.nextAt == 0) != (s.NextAt == nil) ||
				(s.NextAt != nil && !s.NextAt.Equal(time.Unix(tt.nextAt, 0))) {
				t.Errorf("next %q at %v, want %q at %d", s.NextPrice, s.NextAt, tt.nextPrice, tt.nextAt)
			}
		})
	}
	t.Run("released names released_subscription", func(t *testing.T) {
		s, err := ParseSchedule([]byte(`{"id":"sub_sched_2","object":"subscription_schedule","customer":"cus_2",
			"subscription":null,"released_subscription":"sub_2","status":"released","current_phase":null,"phases":[]}`))
		if err != nil || s.SubscriptionID != "sub_2" || s.Live() {
			t.Fatalf("%+v %v", s, err)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		for _, raw := range []string{`{"id":"sub_sched_3","object":"subscription_schedule","status":"active"}`,
			`{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active"}`} {
			if _, err := ParseSchedule([]byte(raw)); err == nil {
				t.Errorf("%s: no error", raw)
			}
		}
	})
	t.Run("ScheduleIDOf", func(t *testing.T) {
		for raw, want := range map[string]string{`{"schedule":"sub_sched_x"}`: "sub_sched_x",
			`{"schedule":{"id":"sub_sched_y"}}`: "sub_sched_y", `{"schedule":null}`: "", `{}`: ""} {
			if got := ScheduleIDOf([]byte(raw)); got != want {
				t.Errorf("%s: %q, want %q", raw, got, want)
			}
		}
	})
}
