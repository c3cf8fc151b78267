package store

import (
	"context"
	"encoding/json"
	"errors"

	"billing/shared/plans"
)

// CatalogDocument is the catalog as the SQL functions read it: the
// "catalog" member of billing_apply_event's document, and the argument of
// billing_sync_catalog. Every plan says whether it is paid and its limit for
// every limit name of the catalog (a plan that does not name a limit allows
// 0 of it, so a downgrade never keeps a counter of the plan before), and
// "counters" gives every limit name its kind ("cap" or "monthly"):
//
//	{"free_plan": "free", "past_due_keeps_access": false, "time_zone": "Asia/Tokyo", "mode": "test",
//	 "counters": {"properties": "cap"},
//	 "plans": {"standard": {"paid": true, "limits": {"properties": 10}}, ...}}
func CatalogDocument(c *plans.Catalog) json.RawMessage {
	doc := catalogDoc{FreePlan: c.FreePlan, PastDueKeepsAccess: c.PastDueKeepsAccess,
		TimeZone: c.Location().String(), Mode: c.Mode, Counters: map[string]string{}, Plans: map[string]planDoc{}}
	for _, name := range c.LimitNames() {
		doc.Counters[name] = c.CounterKind(name)
	}
	for _, p := range c.Plans {
		limits := map[string]*int{}
		for _, name := range c.LimitNames() {
			v, unlimited, ok := p.Limit(name)
			switch {
			case !ok:
				zero := 0
				limits[name] = &zero
			case unlimited:
				limits[name] = nil
			default:
				limits[name] = &v
			}
		}
		doc.Plans[p.ID] = planDoc{Paid: c.IsPaid(p.ID), Limits: limits}
	}
	b, _ := json.Marshal(doc) // maps, strings, bools and ints always marshal
	return b
}

type planDoc struct {
	Paid   bool            `json:"paid"`
	Limits map[string]*int `json:"limits"`
}

type catalogDoc struct {
	FreePlan           string             `json:"free_plan"`
	PastDueKeepsAccess bool               `json:"past_due_keeps_access"`
	TimeZone           string             `json:"time_zone"`
	Mode               string             `json:"mode"`
	Counters           map[string]string  `json:"counters"`
	Plans              map[string]planDoc `json:"plans"`
}

// CatalogSync is billing_sync_catalog's answer.
type CatalogSync struct {
	// Changed: the stored limits were different and have been replaced.
	Changed bool `json:"changed"`
	// Plans counts the plans stored.
	Plans int `json:"plans"`
}

// SyncCatalog makes the database's copy of the catalog's limits and counter
// kinds (billing_plan_limits) match c (billing_sync_catalog): one call that
// only reads when nothing changed. The usage functions (consume_usage,
// release_usage, get_usage) look every limit up there, so once this
// returns they enforce what c says. Every function start, billing migrate,
// every webhook event and reconcile run call it.
func (s *Store) SyncCatalog(ctx context.Context, c *plans.Catalog) (CatalogSync, error) {
	if s == nil || s.Caller == nil || c == nil {
		return CatalogSync{}, errors.New("store: SyncCatalog needs a Store and a Catalog")
	}
	var res CatalogSync
	err := s.Call(ctx, "billing_sync_catalog", []Arg{{Name: "p_catalog", Value: CatalogDocument(c)}}, &res)
	return res, err
}
