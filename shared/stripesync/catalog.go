package stripesync

import (
	"context"
	"encoding/json"
	"errors"

	"billing/shared/plans"
	"billing/shared/store"
)

// CatalogDocument is the catalog as the SQL functions read it: the
// "catalog" member of billing_apply_event's document, and the argument of
// billing_sync_catalog. Every plan says whether it is paid and its limit for
// every limit name of the catalog (a plan that does not name a limit allows
// 0 of it, so a downgrade never keeps a counter of the plan before):
//
//	{"free_plan": "free", "past_due_keeps_access": false, "time_zone": "Asia/Tokyo", "mode": "test",
//	 "plans": {"standard": {"paid": true, "limits": {"properties": 10}}, ...}}
func CatalogDocument(c *plans.Catalog) json.RawMessage {
	doc := catalogDoc{FreePlan: c.FreePlan, PastDueKeepsAccess: c.PastDueKeepsAccess,
		TimeZone: c.Location().String(), Mode: c.Mode, Plans: map[string]planDoc{}}
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

// CatalogSync is billing_sync_catalog's answer.
type CatalogSync struct {
	// Changed: the stored limits were different and have been replaced.
	Changed bool `json:"changed"`
	// Plans counts the plans stored.
	Plans int `json:"plans"`
}

// SyncCatalog stores the catalog's limits of every plan in the database
// (billing_sync_catalog), where the usage functions take the free plan's
// limit for users without limits of their own (never subscribed, or paid
// access over). It only reads when nothing changed. billing migrate, every
// apply (billing_apply_event) and reconcile runs call it.
func SyncCatalog(ctx context.Context, st *store.Store, c *plans.Catalog) (CatalogSync, error) {
	if st == nil || c == nil {
		return CatalogSync{}, errors.New("stripesync: SyncCatalog needs a Store and a Catalog")
	}
	var res CatalogSync
	err := st.Call(ctx, "billing_sync_catalog", []store.Arg{{Name: "p_catalog", Value: CatalogDocument(c)}}, &res)
	return res, err
}
