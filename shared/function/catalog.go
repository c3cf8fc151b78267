package function

import (
	"context"
	"runtime"
	"time"
)

// catalogSyncTimeout bounds the catalog check at start, so that a slow
// database cannot use up a Lambda's init time.
const catalogSyncTimeout = 5 * time.Second

// SyncCatalog makes the database's copy of the catalog's limits match the
// catalog this function was started with (store.Store.SyncCatalog), so
// that right after a new catalog is deployed the limits consume_usage
// enforces are the ones check-subscription reports, without waiting for a
// webhook. It is one call that only reads when the copy already matches. A
// failure does not stop the function (the copy is then refreshed by the
// next start, webhook event or reconcile run); it is logged as an error.
// Build (every function's start) runs it in the background
// (startCatalogSync); operator commands, whose dry
// runs write nothing, do not. A Deps without a store or catalog skips it.
func (d *Deps) SyncCatalog(ctx context.Context) {
	if d.Store == nil || d.Catalog == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, catalogSyncTimeout)
	defer cancel()
	start := time.Now()
	res, err := d.Store.SyncCatalog(ctx, d.Catalog)
	if err != nil {
		d.Log.ErrorContext(ctx, "catalog sync at start failed: the usage limits in the database may be those of another catalog",
			"error", err.Error())
		return
	}
	if res.Changed {
		d.Log.InfoContext(ctx, "catalog sync at start: stored this function's catalog limits",
			"plans", res.Plans, "duration_ms", time.Since(start).Milliseconds())
	}
}

// startCatalogSync runs SyncCatalog in the background, so that a start
// does not wait for the database: the sync's connection (the pool's first)
// is opened while the handler is built and the server starts listening,
// and is there for the first request (measured with the cold-start
// benchmark: the synchronous sync was 4 to 6 ms of every start; see
// docs/benchmarks.md). No answer of a handler depends on it: the webhook
// applies the catalog with every event, and the other functions take
// limits from their own catalog; only the usage functions the app calls
// in the database see the new limits a few milliseconds later. Close
// waits for it. A WASI
// component runs it before answering: the host may end the instance when
// the request is answered.
func (d *Deps) startCatalogSync(ctx context.Context) {
	d.synced = make(chan struct{})
	if runtime.GOOS == "wasip1" || runtime.GOOS == "wasip2" {
		d.SyncCatalog(ctx)
		close(d.synced)
		return
	}
	go func() {
		defer close(d.synced)
		d.SyncCatalog(context.WithoutCancel(ctx))
	}()
}
