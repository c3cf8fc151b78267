package plans

import (
	"strings"
	"testing"
)

func TestLegacyPrices(t *testing.T) {
	doc := `{"free_plan": "free", "plans": [
	  {"id": "free"},
	  {"id": "standard", "price_ids": {"test": "price_std_2026", "live": "price_std_live"},
	   "legacy_price_ids": {"test": ["price_std_2024", "${OLD_STD}"], "live": ["price_std_live_2024"]}}]}`
	env := map[string]string{"OLD_STD": "price_std_2025"}
	c, err := Parse([]byte(doc), ModeTest, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, price := range []string{"price_std_2026", "price_std_2024", "price_std_2025"} {
		if p, ok := c.PlanForPrice(price); !ok || p.ID != "standard" {
			t.Errorf("%s: got %q %v", price, p.ID, ok)
		}
	}
	if _, ok := c.PlanForPrice("price_std_live_2024"); ok {
		t.Error("a legacy price of the other mode must not be known")
	}
	if got, _ := c.PriceID("standard"); got != "price_std_2026" {
		t.Errorf("checkout price %q: a legacy price is never sold", got)
	}

	for name, tc := range map[string]struct{ doc, want string }{
		"unset variable": {strings.Replace(doc, "OLD_STD", "NOPE", 1), "legacy_price_ids.test[1]: environment variable NOPE is not set"},
		"duplicate":      {strings.Replace(doc, "price_std_2024", "price_std_2026", 1), "is also used by"},
		"not a price":    {strings.Replace(doc, "price_std_2024", "std_2024", 1), "does not start with"},
		"free plan": {strings.Replace(doc, `{"id": "free"}`, `{"id": "free", "legacy_price_ids": {"test": ["price_x1"]}}`, 1),
			"the free plan must not have price ids"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), ModeTest, func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
