package stripesync

import (
	"context"
	"encoding/json"
	"errors"

	"billing/shared/plans"
	"billing/shared/store"
)

// CatalogDocument is store.CatalogDocument: the catalog as the SQL
// functions read it (the "catalog" member of billing_apply_event's
// document, and the argument of billing_sync_catalog).
func CatalogDocument(c *plans.Catalog) json.RawMessage { return store.CatalogDocument(c) }

// CatalogSync is billing_sync_catalog's answer.
type CatalogSync = store.CatalogSync

// SyncCatalog stores the catalog's limits of every plan in the database
// (store.Store.SyncCatalog). billing migrate, every apply
// (billing_apply_event) and reconcile runs call it.
func SyncCatalog(ctx context.Context, st *store.Store, c *plans.Catalog) (CatalogSync, error) {
	if st == nil || c == nil {
		return CatalogSync{}, errors.New("stripesync: SyncCatalog needs a Store and a Catalog")
	}
	return st.SyncCatalog(ctx, c)
}
