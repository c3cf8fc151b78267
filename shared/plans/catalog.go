// Package plans is the plan catalog: which plans exist, which Stripe price
// belongs to which plan in the current Stripe mode, and what each plan grants
// (entitlements such as "member_access") and allows (limits such as
// "properties", where nil means unlimited).
//
// Plans are data, not code. A catalog is one JSON document:
//
//	{
//	  "free_plan": "free",
//	  "past_due_keeps_access": false,
//	  "usage_time_zone": "Asia/Tokyo",
//	  "downgrade": "period_end",
//	  "allow_promotion_codes": false,
//	  "plans": [
//	    {"id": "free", "limits": {"properties": 3}},
//	    {"id": "standard", "name": "Standard", "trial_days": 14,
//	     "price_ids": {"test": "${STRIPE_STANDARD_PRICE_ID_TEST}", "live": "${STRIPE_STANDARD_PRICE_ID_LIVE}"},
//	     "entitlements": ["member_access", "learning_access"], "limits": {"properties": 10}},
//	    {"id": "premium",
//	     "price_ids": {"test": "${STRIPE_PREMIUM_PRICE_ID_TEST}", "live": "${STRIPE_PREMIUM_PRICE_ID_LIVE}"},
//	     "entitlements": ["member_access", "learning_access"], "limits": {"properties": null}}
//	  ]
//	}
//
// "plans" lists the plans from the lowest to the highest: change-plan calls
// a change to a later plan an upgrade (at once, prorated) and to an earlier
// one a downgrade (at the end of the paid period, or at once when
// "downgrade" is "immediately").
// Each limit name is a usage counter. "counters" may declare its kind:
// {"properties": {"kind": "cap"}} is a cap on what a user holds (no reset;
// release_usage gives units back), {"kind": "monthly"} a count that resets
// at 00:00 on the 1st in usage_time_zone. A limit not declared there is
// monthly, as the shorthand always meant.
//
// Price IDs may reference environment variables as ${VAR}; nothing else is
// expanded. Only the price of the current mode ("test" or "live") is
// required: the other mode's variable may be unset, and that price is then
// simply absent. A price of the other mode is never matched by PlanForPrice,
// so test-mode events cannot change live data.
//
// The embedded default catalog (used when no file is given) is the one above
// without names and trials: a free plan with no entitlements and 3
// properties, standard with member and learning access and 10 properties,
// and premium with the same access and unlimited properties. The three apps
// of the seed documents ship as examples (see Example and ExampleNames):
//
//   - race-data: free/standard/premium with one entitlement per section of
//     the race pages: race_11r (every plan), race_10r_12r and race_detail
//     (standard and premium), race_1r_9r (premium only).
//   - real-estate: free/basic/premium, all with simulation, a cap of 3, 10
//     and unlimited "properties" (what a user holds; never reset), and a
//     "monthly_count" of 3, 10 and unlimited reset monthly in Asia/Tokyo.
//   - learning-community: free plus standard/growth/community/feedback;
//     member_access for all four paid plans, learning_access for all but
//     community.
//
// The package embeds the IANA time zone database, so usage_time_zone
// resolves on Lambda, in containers without zoneinfo, and on WASI.
package plans

import (
	"embed"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	_ "time/tzdata" // usage_time_zone must resolve on machines without zoneinfo
)

// DefaultUsageTimeZone is the IANA zone of the monthly usage-counter reset
// when a catalog names none.
const DefaultUsageTimeZone = "Asia/Tokyo"

// The Stripe modes a catalog is loaded for.
const (
	ModeTest = "test"
	ModeLive = "live"
)

//go:embed default.json
var defaultJSON []byte

//go:embed examples/*.json
var examplesFS embed.FS

// Plan is one plan of a catalog.
type Plan struct {
	// ID is the stable lower_snake_case plan identifier ("standard").
	ID string
	// Name is the display name; it may be empty.
	Name string
	// PriceIDs maps a mode ("test", "live") to the expanded Stripe price ID.
	// A mode without a price has no key. The free plan has none.
	PriceIDs map[string]string
	// Entitlements are the permissions the plan grants, in catalog order.
	Entitlements []string
	// Limits maps a limit name to its value; a nil value means unlimited.
	Limits map[string]*int
	// TrialDays is the free trial given at checkout, 0 for none.
	TrialDays int
	// LegacyPriceIDs maps a mode to the plan's grandfathered prices: no
	// longer sold (checkout uses PriceIDs), but subscriptions still on them
	// keep the plan (PlanForPrice finds them). A mode without one has no key.
	LegacyPriceIDs map[string][]string
}

// Catalog is a parsed and validated plan catalog for one Stripe mode. Build
// it with Parse or Load; its methods must not be used on a hand-made value.
type Catalog struct {
	// FreePlan is the ID of the plan of users without a granting subscription.
	FreePlan string
	// PastDueKeepsAccess makes a past_due subscription keep its plan.
	PastDueKeepsAccess bool
	// UsageTimeZone is the IANA zone of the monthly usage-counter reset.
	UsageTimeZone string
	// Mode is the Stripe mode the catalog was loaded for: "test" or "live".
	Mode string
	// Downgrade is when a change to a lower plan takes effect (change-plan):
	// DowngradeAtPeriodEnd (the default) or DowngradeImmediately. Plans are
	// ordered from the lowest to the highest by their order in "plans".
	Downgrade string
	// AllowPromotionCodes turns on Stripe's promotion code field in every
	// Checkout Session ("allow_promotion_codes"; default off).
	AllowPromotionCodes bool
	// Plans are the plans in catalog order.
	Plans []Plan

	byID         map[string]int
	byPrice      map[string]int // prices of Mode only
	entitlements []string
	limitNames   []string
	kinds        map[string]string // limit name -> KindCap or KindMonthly
	loc          *time.Location
}

// The values of a catalog's "downgrade".
const (
	DowngradeAtPeriodEnd = "period_end"
	DowngradeImmediately = "immediately"
)

// Load reads the catalog at path, or the embedded default when path is "",
// and parses it for mode with Parse. A nil getenv means os.Getenv.
func Load(path, mode string, getenv func(string) string) (*Catalog, error) {
	if path == "" {
		return Parse(defaultJSON, mode, getenv)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plans: reading catalog: %w", err)
	}
	c, err := Parse(data, mode, getenv)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return c, nil
}

// DefaultJSON returns a copy of the embedded default catalog document.
func DefaultJSON() []byte {
	return slices.Clone(defaultJSON)
}

// ExampleNames lists the example catalogs shipped with the package, sorted:
// "learning-community", "race-data" and "real-estate".
func ExampleNames() []string {
	entries, err := examplesFS.ReadDir("examples")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Example returns the JSON document of the example catalog name, with or
// without its ".json" suffix.
func Example(name string) ([]byte, error) {
	base := strings.TrimSuffix(name, ".json")
	if base == "" || strings.ContainsAny(base, `/\`) {
		return nil, fmt.Errorf("plans: no example catalog %q", name)
	}
	data, err := examplesFS.ReadFile("examples/" + base + ".json")
	if err != nil {
		return nil, fmt.Errorf("plans: no example catalog %q (have %s)", name, strings.Join(ExampleNames(), ", "))
	}
	return data, nil
}

// Plan returns the plan id, and whether the catalog has it.
func (c *Catalog) Plan(id string) (Plan, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Plan{}, false
	}
	return c.Plans[i].clone(), true
}

// View returns the plan id without copying it, and whether the catalog
// has it: for readers on a hot path (access.Compute) that read the plan and
// never change it or hand out what it holds. Everyone else uses Plan.
func (c *Catalog) View(id string) (*Plan, bool) {
	i, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	return &c.Plans[i], true
}

// EachEntitlement calls fn with each entitlement of Entitlements, without
// copying the list.
func (c *Catalog) EachEntitlement(fn func(name string)) {
	for _, name := range c.entitlements {
		fn(name)
	}
}

// EachLimitName calls fn with each name of LimitNames, without copying the
// list.
func (c *Catalog) EachLimitName(fn func(name string)) {
	for _, name := range c.limitNames {
		fn(name)
	}
}

// NumLimits is len(LimitNames()).
func (c *Catalog) NumLimits() int { return len(c.limitNames) }

// Free returns the free plan.
func (c *Catalog) Free() Plan {
	p, _ := c.Plan(c.FreePlan)
	return p
}

// IsPaid reports whether id is a plan with a price in the current mode.
func (c *Catalog) IsPaid(id string) bool {
	i, ok := c.byID[id]
	return ok && c.Plans[i].PriceIDs[c.Mode] != ""
}

// PriceID returns the current mode's price of the plan planID, and whether
// there is one.
func (c *Catalog) PriceID(planID string) (string, bool) {
	i, ok := c.byID[planID]
	if !ok {
		return "", false
	}
	price := c.Plans[i].PriceIDs[c.Mode]
	return price, price != ""
}

// PlanIDForPrice is PlanForPrice's plan ID, without copying the plan.
func (c *Catalog) PlanIDForPrice(priceID string) (string, bool) {
	i, ok := c.byPrice[priceID]
	if !ok {
		return "", false
	}
	return c.Plans[i].ID, true
}

// PlanForPrice returns the plan whose current-mode price, or one of its
// current-mode legacy prices, is priceID. A price of the other mode is not
// found.
func (c *Catalog) PlanForPrice(priceID string) (Plan, bool) {
	i, ok := c.byPrice[priceID]
	if !ok {
		return Plan{}, false
	}
	return c.Plans[i].clone(), true
}

// Entitlements returns the sorted union of the entitlements of all plans.
func (c *Catalog) Entitlements() []string {
	return slices.Clone(c.entitlements)
}

// LimitNames returns the sorted union of the limit names of all plans.
func (c *Catalog) LimitNames() []string {
	return slices.Clone(c.limitNames)
}

// Location returns the time zone of the monthly usage-counter reset.
func (c *Catalog) Location() *time.Location {
	if c.loc == nil {
		loc, err := time.LoadLocation(DefaultUsageTimeZone)
		if err != nil {
			return time.UTC
		}
		return loc
	}
	return c.loc
}

// clone returns a deep copy of p, so that callers cannot change the catalog.
func (p Plan) clone() Plan {
	p.PriceIDs = maps.Clone(p.PriceIDs)
	if p.LegacyPriceIDs != nil {
		legacy := make(map[string][]string, len(p.LegacyPriceIDs))
		for mode, prices := range p.LegacyPriceIDs {
			legacy[mode] = slices.Clone(prices)
		}
		p.LegacyPriceIDs = legacy
	}
	p.Entitlements = slices.Clone(p.Entitlements)
	limits := make(map[string]*int, len(p.Limits))
	for name, v := range p.Limits {
		if v != nil {
			n := *v
			v = &n
		}
		limits[name] = v
	}
	p.Limits = limits
	return p
}

// HasEntitlement reports whether the plan grants the entitlement name.
func (p Plan) HasEntitlement(name string) bool {
	return slices.Contains(p.Entitlements, name)
}

// Limit returns the plan's limit name: the value and false when limited,
// 0 and true when unlimited (a JSON null). ok is false when the plan does
// not define the limit at all.
func (p Plan) Limit(name string) (value int, unlimited, ok bool) {
	v, ok := p.Limits[name]
	if !ok {
		return 0, false, false
	}
	if v == nil {
		return 0, true, true
	}
	return *v, false, true
}

// Rank returns the position of plan id in the catalog's "plans", which lists
// plans from the lowest to the highest: a change to a plan of a higher rank
// is an upgrade, to a lower one a downgrade. ok is false for an unknown plan.
func (c *Catalog) Rank(id string) (rank int, ok bool) {
	rank, ok = c.byID[id]
	return rank, ok
}
