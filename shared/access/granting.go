package access

import (
	"slices"
	"time"

	"billing/shared/plans"
)

// Granting returns the IDs of the subscriptions of the catalog's mode that
// grant access at now, best first (the one Compute takes). More than one is
// a second live subscription (paid in two tabs, made in the Dashboard):
// access takes the best one, and the operator refunds or cancels the rest.
func Granting(subs []Subscription, cat *plans.Catalog, now time.Time) []string {
	live := cat.Mode == plans.ModeLive
	var g []Subscription
	for _, s := range subs {
		if s.Livemode == live && Grants(s, cat, now) {
			g = append(g, s)
		}
	}
	slices.SortFunc(g, func(a, b Subscription) int {
		switch {
		case a.ID == b.ID:
			return 0
		case grantsLonger(a, b):
			return -1
		}
		return 1
	})
	ids := make([]string, len(g))
	for i, s := range g {
		ids[i] = s.ID
	}
	return ids
}
