package access

import (
	"bytes"
	"strconv"
	"time"

	"billing/shared/plans"
)

// Counter is one usage counter of the check-subscription body's "usage".
type Counter struct {
	// Kind is plans.KindCap (what the user holds) or plans.KindMonthly.
	Kind string
	// Used is the count held (a cap) or counted this month (monthly).
	Used int
	// Limit is the effective plan's limit; nil means unlimited. A plan
	// that does not name the counter allows 0.
	Limit *int
	// Remaining is Limit - Used, never below 0; nil when unlimited.
	Remaining *int
	// ResetsAt is when a monthly counter starts again from 0 (00:00 on the
	// next 1st in the catalog's time zone); nil for a cap.
	ResetsAt *time.Time
}

// Stored is a usage counter as the database holds it (usage_limits).
type Stored struct {
	// Used is the stored count.
	Used int
	// PeriodStart is the first day ("2026-11-01") of the month the count
	// of a monthly counter is for, in the catalog's time zone.
	PeriodStart string
}

// Usage returns every usage counter of the catalog for the plan planID at
// now, from the stored counts (a counter without one has used nothing).
// It applies the same rules as the database's usage functions
// (billing_usage_rule): a cap counts what is held and never resets; a
// monthly count from a month before now's month (in the catalog's time
// zone) is 0.
func Usage(cat *plans.Catalog, planID string, stored map[string]Stored, now time.Time) map[string]Counter {
	plan, ok := cat.View(planID)
	if !ok {
		plan = &plans.Plan{}
	}
	period := cat.PeriodStart(now).Format(time.DateOnly)
	out := make(map[string]Counter, cat.NumLimits())
	cat.EachLimitName(func(name string) {
		c := Counter{Kind: cat.CounterKind(name)}
		st := stored[name]
		switch v, unlimited, ok := plan.Limit(name); {
		case !ok:
			c.Limit = new(int)
		case !unlimited:
			c.Limit = &v
		}
		c.Used = st.Used
		if c.Kind == plans.KindMonthly {
			if st.PeriodStart < period {
				c.Used = 0
			}
			reset := cat.NextReset(now)
			c.ResetsAt = &reset
		}
		if c.Limit != nil {
			r := max(*c.Limit-c.Used, 0)
			c.Remaining = &r
		}
		out[name] = c
	})
	return out
}

// writeUsage writes the "usage" object: counters sorted by name, each
// {"kind", "used", "limit", "remaining"} and "resetsAt" for a monthly one.
func writeUsage(b *bytes.Buffer, usage map[string]Counter) {
	b.WriteByte('{')
	var buf [16]string
	for i, name := range sortedKeys(buf[:0], usage) {
		c := usage[name]
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, name)
		b.WriteString(`:{"kind":`)
		writeString(b, c.Kind)
		b.WriteString(`,"used":`)
		b.WriteString(strconv.Itoa(c.Used))
		b.WriteString(`,"limit":`)
		writeIntPtr(b, c.Limit)
		b.WriteString(`,"remaining":`)
		writeIntPtr(b, c.Remaining)
		if c.ResetsAt != nil {
			b.WriteString(`,"resetsAt":`)
			writeTime(b, c.ResetsAt)
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
}

func writeIntPtr(b *bytes.Buffer, v *int) {
	if v == nil {
		b.WriteString("null")
		return
	}
	b.WriteString(strconv.Itoa(*v))
}
