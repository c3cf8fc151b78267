package plans

import (
	"strings"
	"testing"
)

// TestPlanChangeSettings: "downgrade" and "allow_promotion_codes" and the
// order of plans that change-plan reads.
func TestPlanChangeSettings(t *testing.T) {
	doc := func(top string) []byte {
		return []byte(`{"free_plan": "free", ` + top + `"plans": [{"id": "free"},
			{"id": "basic", "price_ids": {"test": "price_b"}}, {"id": "pro", "price_ids": {"test": "price_p"}}]}`)
	}
	tests := []struct {
		name      string
		top       string
		downgrade string
		promo     bool
		err       string
	}{
		{"defaults", "", DowngradeAtPeriodEnd, false, ""},
		{"immediately", `"downgrade": "immediately", `, DowngradeImmediately, false, ""},
		{"period_end", `"downgrade": "period_end", `, DowngradeAtPeriodEnd, false, ""},
		{"promotion codes on", `"allow_promotion_codes": true, `, DowngradeAtPeriodEnd, true, ""},
		{"unknown downgrade", `"downgrade": "later", `, "", false, `plans: downgrade: "later" must be "period_end" or "immediately"`},
		{"promotion codes not a bool", `"allow_promotion_codes": "yes", `, "", false, "allow_promotion_codes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(doc(tt.top), ModeTest, func(string) string { return "" })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Downgrade != tt.downgrade || c.AllowPromotionCodes != tt.promo {
				t.Errorf("downgrade %q promo %v", c.Downgrade, c.AllowPromotionCodes)
			}
			free, _ := c.Rank("free")
			basic, _ := c.Rank("basic")
			pro, ok := c.Rank("pro")
			if !ok || !(free < basic && basic < pro) {
				t.Errorf("ranks free %d basic %d pro %d", free, basic, pro)
			}
			if _, ok := c.Rank("gold"); ok {
				t.Error("an unknown plan has a rank")
			}
		})
	}
}
