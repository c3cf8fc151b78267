package plans

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The kinds of usage counter a catalog declares in "counters".
const (
	// KindCap is a cap on what a user holds (properties registered): it
	// never resets, and units are given back when a thing is deleted
	// (release_usage).
	KindCap = "cap"
	// KindMonthly is a count per calendar month in the catalog's
	// usage_time_zone: it starts again from 0 at 00:00 on the 1st.
	KindMonthly = "monthly"
)

// rawCounter is one entry of the catalog's "counters", before validation.
type rawCounter struct {
	Kind string `json:"kind"`
}

// parseCounters validates the catalog's "counters" against the limit names
// of its plans and returns the kind of every limit name. A limit not
// listed in "counters" is monthly: the shorthand "limits": {"x": 10} means
// what it always has.
func parseCounters(raw map[string]json.RawMessage, limitNames []string) (map[string]string, error) {
	kinds := make(map[string]string, len(limitNames))
	for _, name := range limitNames {
		kinds[name] = KindMonthly
	}
	for _, name := range sortedKeys(raw) {
		if !snakeCase.MatchString(name) {
			return nil, fmt.Errorf("counters: name %q is not lower_snake_case", name)
		}
		var rc rawCounter
		if err := decodeStrict(raw[name], &rc); err != nil {
			return nil, fmt.Errorf("counters.%s: %s", name, err)
		}
		switch rc.Kind {
		case KindCap, KindMonthly:
		case "":
			return nil, fmt.Errorf("counters.%s: kind: missing (%q or %q)", name, KindCap, KindMonthly)
		default:
			return nil, fmt.Errorf("counters.%s: kind: %q is not %q or %q", name, rc.Kind, KindCap, KindMonthly)
		}
		if !slices.Contains(limitNames, name) {
			return nil, fmt.Errorf("counters.%s: no plan has a limit of that name", name)
		}
		kinds[name] = rc.Kind
	}
	return kinds, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CounterKind returns the kind of the usage counter name: KindCap or
// KindMonthly (also for a name the catalog does not know).
func (c *Catalog) CounterKind(name string) string {
	if k, ok := c.kinds[name]; ok {
		return k
	}
	return KindMonthly
}

// PeriodStart returns the start of the monthly usage period that contains
// t: 00:00 on the 1st of t's month in the catalog's usage time zone.
func (c *Catalog) PeriodStart(t time.Time) time.Time {
	loc := c.Location()
	lt := t.In(loc)
	return time.Date(lt.Year(), lt.Month(), 1, 0, 0, 0, 0, loc)
}

// NextReset returns when the monthly usage period that contains t ends:
// 00:00 on the 1st of the next month in the catalog's usage time zone.
func (c *Catalog) NextReset(t time.Time) time.Time {
	return c.PeriodStart(t).AddDate(0, 1, 0)
}
