package plans

import (
	"strings"
	"testing"
	"time"
)

func TestCounterKinds(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want map[string]string
	}{
		{"shorthand is monthly", `{"free_plan": "free", "plans": [{"id": "free", "limits": {"exports": 5}}]}`,
			map[string]string{"exports": KindMonthly, "unknown": KindMonthly}},
		{"declared cap and monthly", `{"free_plan": "free",
			"counters": {"properties": {"kind": "cap"}, "monthly_count": {"kind": "monthly"}},
			"plans": [{"id": "free", "limits": {"properties": 3, "monthly_count": 3, "exports": 1}}]}`,
			map[string]string{"properties": KindCap, "monthly_count": KindMonthly, "exports": KindMonthly}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc), ModeTest, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				if got := c.CounterKind(name); got != want {
					t.Errorf("CounterKind(%q) = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestCounterErrors(t *testing.T) {
	tests := []struct {
		name, counters, want string
	}{
		{"unknown kind", `{"properties": {"kind": "yearly"}}`, `counters.properties: kind: "yearly" is not "cap" or "monthly"`},
		{"missing kind", `{"properties": {}}`, `counters.properties: kind: missing`},
		{"unknown field", `{"properties": {"kind": "cap", "reset": "never"}}`, `counters.properties: unknown field "reset"`},
		{"not an object", `{"properties": "cap"}`, `counters.properties: expected a JSON object`},
		{"no plan has it", `{"seats": {"kind": "cap"}}`, `counters.seats: no plan has a limit of that name`},
		{"bad name", `{"Seats": {"kind": "cap"}}`, `counters: name "Seats" is not lower_snake_case`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"free_plan": "free", "counters": ` + tt.counters + `, "plans": [{"id": "free", "limits": {"properties": 3}}]}`
			_, err := Parse([]byte(doc), ModeTest, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "plans: ") {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// The example catalogs say what their apps mean (seed 002: a cap of 3 / 10
// / unlimited registered properties, and a count per month in JST); the
// default catalog caps properties.
func TestExampleCounterKinds(t *testing.T) {
	data, err := Example("real-estate")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, ModeTest, testEnv.get)
	if err != nil {
		t.Fatal(err)
	}
	if c.CounterKind("properties") != KindCap || c.CounterKind("monthly_count") != KindMonthly {
		t.Errorf("real-estate: properties %q, monthly_count %q; want cap, monthly",
			c.CounterKind("properties"), c.CounterKind("monthly_count"))
	}
	def := mustLoad(t, "", ModeTest, testEnv.get)
	if def.CounterKind("properties") != KindCap {
		t.Errorf("default: properties %q, want cap", def.CounterKind("properties"))
	}
}

func TestPeriodStartAndNextReset(t *testing.T) {
	c := mustLoad(t, "", ModeTest, testEnv.get) // Asia/Tokyo
	tests := []struct{ at, start, reset string }{
		{"2026-11-30T14:59:59Z", "2026-10-31T15:00:00Z", "2026-11-30T15:00:00Z"}, // 23:59:59 JST on the 30th
		{"2026-11-30T15:00:00Z", "2026-11-30T15:00:00Z", "2026-12-31T15:00:00Z"}, // 00:00:00 JST on the 1st
		{"2026-12-31T15:00:00Z", "2026-12-31T15:00:00Z", "2027-01-31T15:00:00Z"},
	}
	for _, tt := range tests {
		at, _ := time.Parse(time.RFC3339, tt.at)
		if got := c.PeriodStart(at).UTC().Format(time.RFC3339); got != tt.start {
			t.Errorf("PeriodStart(%s) = %s, want %s", tt.at, got, tt.start)
		}
		if got := c.NextReset(at).UTC().Format(time.RFC3339); got != tt.reset {
			t.Errorf("NextReset(%s) = %s, want %s", tt.at, got, tt.reset)
		}
	}
}
