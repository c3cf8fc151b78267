package plans

import (
	"slices"
	"strings"
	"testing"
)

func TestExampleNames(t *testing.T) {
	want := []string{"learning-community", "race-data", "real-estate"}
	if got := ExampleNames(); !slices.Equal(got, want) {
		t.Errorf("ExampleNames() = %v, want %v", got, want)
	}
	tests := []struct {
		name    string
		wantErr bool
	}{
		{"race-data", false},
		{"race-data.json", false},
		{"real-estate", false},
		{"learning-community.json", false},
		{"default", true},
		{"", true},
		{"../default", true},
		{"examples/race-data", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Example(tt.name)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Example(%q) error = %v, want error %v", tt.name, err, tt.wantErr)
			}
			if !tt.wantErr && len(data) == 0 {
				t.Error("empty document")
			}
		})
	}
}

func TestExamples(t *testing.T) {
	type planWant struct {
		id, entitlements, limits string
	}
	tests := []struct {
		example      string
		entitlements []string
		limitNames   []string
		plans        []planWant
	}{
		{
			example:      "race-data",
			entitlements: []string{"race_10r_12r", "race_11r", "race_1r_9r", "race_detail"},
			limitNames:   nil,
			plans: []planWant{
				{"free", "race_11r", ""},
				{"standard", "race_11r race_10r_12r race_detail", ""},
				{"premium", "race_11r race_10r_12r race_1r_9r race_detail", ""},
			},
		},
		{
			example:      "real-estate",
			entitlements: []string{"simulation"},
			limitNames:   []string{"monthly_count", "properties"},
			plans: []planWant{
				{"free", "simulation", "monthly_count=3 properties=3"},
				{"basic", "simulation", "monthly_count=10 properties=10"},
				{"premium", "simulation", "monthly_count=unlimited properties=unlimited"},
			},
		},
		{
			example:      "learning-community",
			entitlements: []string{"learning_access", "member_access"},
			limitNames:   nil,
			plans: []planWant{
				{"free", "", ""},
				{"standard", "member_access learning_access", ""},
				{"growth", "member_access learning_access", ""},
				{"community", "member_access", ""},
				{"feedback", "member_access learning_access", ""},
			},
		},
	}
	for _, tt := range tests {
		for _, mode := range []string{ModeTest, ModeLive} {
			t.Run(tt.example+"/"+mode, func(t *testing.T) {
				data, err := Example(tt.example)
				if err != nil {
					t.Fatal(err)
				}
				c, err := Parse(data, mode, testEnv.get)
				if err != nil {
					t.Fatal(err)
				}
				if c.FreePlan != "free" || c.Location().String() != "Asia/Tokyo" {
					t.Errorf("free plan %q, zone %s", c.FreePlan, c.Location())
				}
				if got := c.Entitlements(); !slices.Equal(got, tt.entitlements) {
					t.Errorf("Entitlements() = %v, want %v", got, tt.entitlements)
				}
				if got := c.LimitNames(); !slices.Equal(got, tt.limitNames) {
					t.Errorf("LimitNames() = %v, want %v", got, tt.limitNames)
				}
				if len(c.Plans) != len(tt.plans) {
					t.Errorf("%d plans, want %d", len(c.Plans), len(tt.plans))
				}
				for _, want := range tt.plans {
					p, ok := c.Plan(want.id)
					if !ok {
						t.Errorf("plan %q missing", want.id)
						continue
					}
					if got := strings.Join(p.Entitlements, " "); got != want.entitlements {
						t.Errorf("plan %q entitlements = %q, want %q", want.id, got, want.entitlements)
					}
					if got := limitString(p.Limits); got != want.limits {
						t.Errorf("plan %q limits = %q, want %q", want.id, got, want.limits)
					}
					if want.id == c.FreePlan {
						continue
					}
					price := "price_" + want.id + "_" + mode
					if got, _ := c.PriceID(want.id); got != price {
						t.Errorf("plan %q price = %q, want %q", want.id, got, price)
					}
					if back, ok := c.PlanForPrice(price); !ok || back.ID != want.id {
						t.Errorf("PlanForPrice(%q) = %q, %v", price, back.ID, ok)
					}
				}
			})
		}
	}
}

func TestExamplesNameTheirVariables(t *testing.T) {
	tests := []struct{ example, want string }{
		{"race-data", `plans: plan "standard": price_ids.live: environment variable STRIPE_STANDARD_PRICE_ID_LIVE is not set`},
		{"real-estate", `plans: plan "basic": price_ids.live: environment variable STRIPE_BASIC_PRICE_ID_LIVE is not set`},
		{"learning-community", `plans: plan "standard": price_ids.live: environment variable STRIPE_STANDARD_PRICE_ID_LIVE is not set`},
	}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			data, err := Example(tt.example)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data, ModeLive, env{}.get)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %s", err, tt.want)
			}
		})
	}
}
