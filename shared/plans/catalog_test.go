package plans

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// limitString renders a plan's limits as "name=value" pairs, sorted, with
// "unlimited" for nil, so that tables can compare them as one string.
func limitString(limits map[string]*int) string {
	var parts []string
	for name, v := range limits {
		if v == nil {
			parts = append(parts, name+"=unlimited")
		} else {
			parts = append(parts, name+"="+strconv.Itoa(*v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func mustLoad(t *testing.T, path, mode string, getenv func(string) string) *Catalog {
	t.Helper()
	c, err := Load(path, mode, getenv)
	if err != nil {
		t.Fatalf("Load(%q, %q): %v", path, mode, err)
	}
	return c
}

func TestDefaultCatalog(t *testing.T) {
	c := mustLoad(t, "", ModeTest, testEnv.get)
	if c.FreePlan != "free" || c.PastDueKeepsAccess || c.Mode != ModeTest || c.UsageTimeZone != "Asia/Tokyo" {
		t.Errorf("catalog = free %q, past_due %v, mode %q, zone %q", c.FreePlan, c.PastDueKeepsAccess, c.Mode, c.UsageTimeZone)
	}
	if got := c.Location().String(); got != "Asia/Tokyo" {
		t.Errorf("Location() = %s, want Asia/Tokyo", got)
	}
	if got, want := c.Entitlements(), []string{"learning_access", "member_access"}; !slices.Equal(got, want) {
		t.Errorf("Entitlements() = %v, want %v", got, want)
	}
	if got, want := c.LimitNames(), []string{"properties"}; !slices.Equal(got, want) {
		t.Errorf("LimitNames() = %v, want %v", got, want)
	}
	tests := []struct {
		plan, price, entitlements, limits string
		paid                              bool
	}{
		{"free", "", "", "properties=3", false},
		{"standard", "price_standard_test", "member_access learning_access", "properties=10", true},
		{"premium", "price_premium_test", "member_access learning_access", "properties=unlimited", true},
	}
	for _, tt := range tests {
		t.Run(tt.plan, func(t *testing.T) {
			p, ok := c.Plan(tt.plan)
			if !ok {
				t.Fatalf("Plan(%q) not found", tt.plan)
			}
			if got := strings.Join(p.Entitlements, " "); got != tt.entitlements {
				t.Errorf("entitlements = %q, want %q", got, tt.entitlements)
			}
			if got := limitString(p.Limits); got != tt.limits {
				t.Errorf("limits = %q, want %q", got, tt.limits)
			}
			if got := c.IsPaid(tt.plan); got != tt.paid {
				t.Errorf("IsPaid = %v, want %v", got, tt.paid)
			}
			price, ok := c.PriceID(tt.plan)
			if price != tt.price || ok != (tt.price != "") {
				t.Errorf("PriceID = %q, %v; want %q", price, ok, tt.price)
			}
		})
	}
	if got := c.Free().ID; got != "free" {
		t.Errorf("Free().ID = %q", got)
	}
	if !slices.Equal(DefaultJSON(), defaultJSON) {
		t.Error("DefaultJSON() differs from the embedded file")
	}
}

func TestDefaultCatalogNeedsOnlyCurrentMode(t *testing.T) {
	tests := []struct {
		name, mode string
		env        env
		wantErr    string
	}{
		{"test mode with test vars only", ModeTest, env{"STRIPE_STANDARD_PRICE_ID_TEST": "price_s", "STRIPE_PREMIUM_PRICE_ID_TEST": "price_p"}, ""},
		{"live mode with live vars only", ModeLive, env{"STRIPE_STANDARD_PRICE_ID_LIVE": "price_s", "STRIPE_PREMIUM_PRICE_ID_LIVE": "price_p"}, ""},
		{"live mode with test vars only", ModeLive, env{"STRIPE_STANDARD_PRICE_ID_TEST": "price_s", "STRIPE_PREMIUM_PRICE_ID_TEST": "price_p"},
			`plans: plan "standard": price_ids.live: environment variable STRIPE_STANDARD_PRICE_ID_LIVE is not set`},
		{"premium missing", ModeTest, env{"STRIPE_STANDARD_PRICE_ID_TEST": "price_s"},
			`plans: plan "premium": price_ids.test: environment variable STRIPE_PREMIUM_PRICE_ID_TEST is not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load("", tt.mode, tt.env.get)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if price, _ := c.PriceID("standard"); price != "price_s" {
				t.Errorf("standard price = %q, want price_s", price)
			}
			if p, _ := c.Plan("standard"); len(p.PriceIDs) != 1 {
				t.Errorf("standard PriceIDs = %v, want only the current mode", p.PriceIDs)
			}
		})
	}
}

func TestModeSwitching(t *testing.T) {
	test := mustLoad(t, "", ModeTest, testEnv.get)
	live := mustLoad(t, "", ModeLive, testEnv.get)
	tests := []struct {
		name     string
		cat      *Catalog
		price    string
		wantPlan string // "" means not found
	}{
		{"test price in test mode", test, "price_standard_test", "standard"},
		{"premium test price in test mode", test, "price_premium_test", "premium"},
		{"live price in test mode", test, "price_standard_live", ""},
		{"live price in live mode", live, "price_standard_live", "standard"},
		{"premium live price in live mode", live, "price_premium_live", "premium"},
		{"test price in live mode", live, "price_standard_test", ""},
		{"unknown price", live, "price_unknown", ""},
		{"empty price", test, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := tt.cat.PlanForPrice(tt.price)
			if ok != (tt.wantPlan != "") || p.ID != tt.wantPlan {
				t.Errorf("PlanForPrice(%q) = %q, %v; want %q", tt.price, p.ID, ok, tt.wantPlan)
			}
		})
	}
	for _, cat := range []*Catalog{test, live} {
		t.Run("round trip "+cat.Mode, func(t *testing.T) {
			for _, p := range cat.Plans {
				price, ok := cat.PriceID(p.ID)
				if p.ID == cat.FreePlan {
					if ok {
						t.Errorf("free plan has price %q", price)
					}
					continue
				}
				if want := "price_" + p.ID + "_" + cat.Mode; price != want || !ok {
					t.Errorf("PriceID(%q) = %q, %v; want %q", p.ID, price, ok, want)
				}
				if back, ok := cat.PlanForPrice(price); !ok || back.ID != p.ID {
					t.Errorf("PlanForPrice(PriceID(%q)) = %q, %v", p.ID, back.ID, ok)
				}
			}
		})
	}
}

func TestLookupsOfUnknownPlans(t *testing.T) {
	c := mustLoad(t, "", ModeTest, testEnv.get)
	for _, id := range []string{"", "gold", "Free", "STANDARD"} {
		t.Run(id, func(t *testing.T) {
			if _, ok := c.Plan(id); ok {
				t.Error("Plan found")
			}
			if c.IsPaid(id) {
				t.Error("IsPaid")
			}
			if _, ok := c.PriceID(id); ok {
				t.Error("PriceID found")
			}
		})
	}
}

func TestPlansAreCopies(t *testing.T) {
	c := mustLoad(t, "", ModeTest, testEnv.get)
	p, _ := c.Plan("standard")
	p.Entitlements[0] = "changed"
	*p.Limits["properties"] = 99
	p.PriceIDs["test"] = "price_changed"
	c.Entitlements()[0] = "changed"
	again, _ := c.Plan("standard")
	if again.Entitlements[0] != "member_access" || *again.Limits["properties"] != 10 || again.PriceIDs["test"] != "price_standard_test" {
		t.Errorf("catalog changed through a returned plan: %+v", again)
	}
	if c.Entitlements()[0] != "learning_access" {
		t.Errorf("catalog changed through Entitlements(): %v", c.Entitlements())
	}
}

func TestPlanHelpers(t *testing.T) {
	c := mustLoad(t, "", ModeLive, testEnv.get)
	std, _ := c.Plan("standard")
	prem, _ := c.Plan("premium")
	tests := []struct {
		name                     string
		plan                     Plan
		limit                    string
		value                    int
		unlimited, ok, hasMember bool
	}{
		{"standard properties", std, "properties", 10, false, true, true},
		{"premium properties", prem, "properties", 0, true, true, true},
		{"free properties", c.Free(), "properties", 3, false, true, false},
		{"undefined limit", std, "exports", 0, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, unlimited, ok := tt.plan.Limit(tt.limit)
			if v != tt.value || unlimited != tt.unlimited || ok != tt.ok {
				t.Errorf("Limit(%q) = %d, %v, %v; want %d, %v, %v", tt.limit, v, unlimited, ok, tt.value, tt.unlimited, tt.ok)
			}
			if got := tt.plan.HasEntitlement("member_access"); got != tt.hasMember {
				t.Errorf("HasEntitlement(member_access) = %v, want %v", got, tt.hasMember)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "plans.json")
	doc := `{"free_plan": "none", "past_due_keeps_access": true, "usage_time_zone": "UTC",
		"plans": [{"id": "none"}, {"id": "pro", "name": "Pro", "trial_days": 7, "price_ids": {"live": "price_pro"}}]}`
	if err := os.WriteFile(good, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"free_plan": "none", "plans": [{"id": "none"}, {"id": "pro"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, good, ModeLive, nil)
	pro, ok := c.PlanForPrice("price_pro")
	if !ok || pro.Name != "Pro" || pro.TrialDays != 7 || !c.PastDueKeepsAccess || c.Location().String() != "UTC" {
		t.Errorf("loaded %+v (found %v), catalog %+v", pro, ok, c)
	}
	tests := []struct{ name, path, want string }{
		{"missing file", filepath.Join(dir, "nope.json"), "plans: reading catalog: open "},
		{"invalid file", bad, `plans: plan "pro": price_ids.live: missing (a paid plan needs a price id for mode "live") (in ` + bad + `)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path, ModeLive, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v, want prefix %s", err, tt.want)
			}
		})
	}
}
