package access

import (
	"encoding/json"
	"testing"
	"time"

	"billing/shared/plans"
)

func TestUsage(t *testing.T) {
	cat := example(t, "real-estate") // properties: cap; monthly_count: monthly; Asia/Tokyo
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	stored := map[string]Stored{
		"properties":    {Used: 5, PeriodStart: "2026-11-01"},
		"monthly_count": {Used: 2, PeriodStart: "2026-11-01"},
	}
	tests := []struct {
		name   string
		plan   string
		stored map[string]Stored
		now    string
		want   string
	}{
		{"23:59:59 JST on the 30th: both counted", "basic", stored, "2026-11-30T14:59:59Z",
			`{"monthly_count":{"kind":"monthly","used":2,"limit":10,"remaining":8,"resetsAt":"2026-11-30T15:00:00Z"},` +
				`"properties":{"kind":"cap","used":5,"limit":10,"remaining":5}}`},
		{"00:00:00 JST on the 1st: the monthly count resets, the cap does not", "basic", stored, "2026-11-30T15:00:00Z",
			`{"monthly_count":{"kind":"monthly","used":0,"limit":10,"remaining":10,"resetsAt":"2026-12-31T15:00:00Z"},` +
				`"properties":{"kind":"cap","used":5,"limit":10,"remaining":5}}`},
		{"downgraded below what is held: remaining 0, nothing lost", "free", stored, "2026-11-20T00:00:00Z",
			`{"monthly_count":{"kind":"monthly","used":2,"limit":3,"remaining":1,"resetsAt":"2026-11-30T15:00:00Z"},` +
				`"properties":{"kind":"cap","used":5,"limit":3,"remaining":0}}`},
		{"unlimited", "premium", stored, "2026-11-20T00:00:00Z",
			`{"monthly_count":{"kind":"monthly","used":2,"limit":null,"remaining":null,"resetsAt":"2026-11-30T15:00:00Z"},` +
				`"properties":{"kind":"cap","used":5,"limit":null,"remaining":null}}`},
		{"nothing stored", "free", nil, "2026-11-20T00:00:00Z",
			`{"monthly_count":{"kind":"monthly","used":0,"limit":3,"remaining":3,"resetsAt":"2026-11-30T15:00:00Z"},` +
				`"properties":{"kind":"cap","used":0,"limit":3,"remaining":3}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compute(nil, cat, at(tt.now))
			r.Usage = Usage(cat, tt.plan, tt.stored, at(tt.now))
			body, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Usage json.RawMessage `json:"usage"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if string(got.Usage) != tt.want {
				t.Errorf("usage =\n %s\nwant\n %s", got.Usage, tt.want)
			}
		})
	}

	t.Run("a counter the plan does not name allows 0", func(t *testing.T) {
		c, err := plans.Parse([]byte(`{"free_plan": "free", "plans": [{"id": "free", "limits": {}},
			{"id": "pro", "price_ids": {"test": "price_pro"}, "limits": {"exports": 5}}]}`), plans.ModeTest, nil)
		if err != nil {
			t.Fatal(err)
		}
		u := Usage(c, "free", nil, mid)
		if e := u["exports"]; e.Limit == nil || *e.Limit != 0 || e.Remaining == nil || *e.Remaining != 0 {
			t.Errorf("free exports = %+v, want limit 0, remaining 0", e)
		}
	})
	t.Run("a catalog without counters has no usage", func(t *testing.T) {
		if u := Usage(example(t, "race-data"), "premium", nil, mid); u == nil || len(u) != 0 {
			t.Errorf("race-data usage = %#v, want an empty map", u)
		}
	})
	t.Run("without Usage the body has no usage key", func(t *testing.T) {
		body, _ := json.Marshal(Compute(nil, cat, mid))
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		if _, ok := m["usage"]; ok {
			t.Errorf("body %s has usage", body)
		}
	})
}
