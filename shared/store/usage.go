package store

import "billing/shared/access"

// UsageRow is one usage counter of a user as billing_check_state returns
// it: the stored count and, for a monthly counter, the first day of the
// month it is for.
type UsageRow struct {
	Used        int    `json:"used"`
	PeriodStart string `json:"period_start"`
}

// StoredUsage returns the counters for access.Usage.
func (u UserState) StoredUsage() map[string]access.Stored {
	out := make(map[string]access.Stored, len(u.Usage))
	for name, r := range u.Usage {
		out[name] = access.Stored{Used: r.Used, PeriodStart: r.PeriodStart}
	}
	return out
}
