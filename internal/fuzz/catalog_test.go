package fuzz

import (
	"testing"

	"billing/shared/plans"
)

// FuzzCatalog feeds the plan catalog loader any document. A catalog it
// accepts is consistent: its free plan exists and is not paid, and every
// paid plan's price maps back to the plan.
func FuzzCatalog(f *testing.F) {
	f.Add(plans.DefaultJSON())
	for _, name := range plans.ExampleNames() {
		if doc, err := plans.Example(name); err == nil {
			f.Add(doc)
		}
	}
	getenv := func(k string) string { return "price_" + k }
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, mode := range []string{"test", "live"} {
			c, err := plans.Parse(doc, mode, getenv)
			if err != nil {
				continue
			}
			free := c.Free()
			if free.ID == "" || c.IsPaid(free.ID) {
				t.Fatalf("free plan %+v", free)
			}
			for _, id := range []string{"standard", "premium", "basic", "growth"} {
				price, ok := c.PriceID(id)
				if !ok {
					continue
				}
				if p, ok := c.PlanForPrice(price); !ok || p.ID != id {
					t.Fatalf("price %s of %s maps to %+v", price, id, p)
				}
			}
		}
	})
}
