// Package function wires a billing function from its configuration: the
// logger, the token verifier, the data store and the plan catalog, and wraps
// its handler with the kit's middleware and CORS. Each function's main is a
// single call to Main; the local server builds every function with Build.
package function

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"billing/shared/auth"
	"billing/shared/config"
	"billing/shared/httpkit"
	"billing/shared/plans"
	"billing/shared/ratelimit"
	"billing/shared/store"
)

// Deps is what a function's handler is built from. Only the parts its
// config.Need asks for are set.
type Deps struct {
	Config   *config.Config
	Log      *slog.Logger
	Verifier *auth.Verifier
	Store    *store.Store
	Catalog  *plans.Catalog

	// synced is closed when the start's catalog sync has ended (nil
	// until Build starts it).
	synced chan struct{}
}

// Spec describes one function: its URL name, what configuration it needs,
// and how to build its handler from Deps.
type Spec struct {
	Name  string
	Needs config.Need
	Build func(ctx context.Context, d *Deps) (http.Handler, error)
}

// RateLimits are the per-user limits of the functions that call Stripe,
// by URL name (security review, finding 6). A signed-in user's verified
// call of one of them is counted in the database (shared/ratelimit) and
// answered 429 rate_limited with Retry-After over the limit. They are
// applied here, once for every function: NewDeps gives the token verifier
// an Admit hook that looks up the function serving the request
// (httpkit.FunctionName). Checkout, portal, cancel, resume and plan changes
// are human actions: 20 a minute is far above any real use. The
// success-page sync (reconcile-subscriptions with a user's token) is
// called once per visit.
var RateLimits = map[string]ratelimit.Rule{
	"create-checkout-session": {Limit: 20, Window: time.Minute},
	"create-portal-session":   {Limit: 20, Window: time.Minute},
	"cancel-subscription":     {Limit: 20, Window: time.Minute},
	"resume-subscription":     {Limit: 20, Window: time.Minute},
	"change-plan":             {Limit: 20, Window: time.Minute},
	"reconcile-subscriptions": {Limit: 10, Window: time.Minute},
}

// NewDeps builds the shared dependencies for cfg. It only opens and reads:
// a function's start (Build, Main) also runs SyncCatalog.
func NewDeps(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Deps, error) {
	d := &Deps{Config: cfg, Log: log}
	n := cfg.Needs()
	if n&config.NeedDatabase != 0 {
		c, err := store.Open(ctx, cfg.DatabaseURL, cfg.SupabaseURL, cfg.ServiceRoleKey)
		if err != nil {
			return nil, err
		}
		d.Store = store.New(c)
	}
	if n&config.NeedAuth != 0 {
		ac := auth.Config{JWTSecret: cfg.JWTSecret, SupabaseURL: cfg.SupabaseURL}
		if d.Store != nil {
			ac.Admit = admitter(ratelimit.New(d.Store))
		}
		v, err := auth.NewVerifier(ac)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.Verifier = v
	}
	if n&config.NeedPlans != 0 {
		cat, err := plans.Load(cfg.PlansFile, cfg.Mode, os.Getenv)
		if err != nil {
			return nil, err
		}
		d.Catalog = cat
	}
	return d, nil
}

// admitter is the verifier's Admit hook: the rate limit of the function
// serving the request, if it has one.
func admitter(l *ratelimit.Limiter) func(ctx context.Context, u auth.User) error {
	return func(ctx context.Context, u auth.User) error {
		name := httpkit.FunctionName(ctx)
		rule, ok := RateLimits[name]
		if !ok {
			return nil
		}
		return l.Admit(ctx, name, u.ID, rule)
	}
}

// CatalogSynced is closed once the catalog sync that Build started has
// ended (successfully or not); a Deps that Build did not make has none to
// wait for.
func (d *Deps) CatalogSynced() <-chan struct{} {
	if d.synced == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	return d.synced
}

// Close waits for the start's catalog sync and releases what Deps holds.
func (d *Deps) Close() {
	<-d.CatalogSynced()
	if d.Store != nil {
		d.Store.Close()
	}
}

// Wrap adds what every function answers with: request IDs, logs, panic
// recovery and CORS.
func Wrap(name string, cfg *config.Config, log *slog.Logger, h http.Handler) http.Handler {
	return httpkit.Middleware(name, log, httpkit.CORS(cfg.AllowedOrigins, h))
}

// Build loads the configuration for spec from the environment, starts
// making the database's copy of the catalog's limits match the function's
// catalog (startCatalogSync), and builds its wrapped handler: a function's
// start. The handler is ready before the sync ends (CatalogSynced).
func Build(ctx context.Context, spec Spec, log *slog.Logger) (http.Handler, *Deps, error) {
	t0 := time.Now()
	cfg, err := config.FromEnv(spec.Needs)
	if err != nil {
		return nil, nil, err
	}
	t1 := time.Now()
	deps, err := NewDeps(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	t2 := time.Now()
	deps.startCatalogSync(ctx)
	t3 := time.Now()
	h, err := spec.Build(ctx, deps)
	if err != nil {
		deps.Close()
		return nil, nil, fmt.Errorf("%s: %w", spec.Name, err)
	}
	log.DebugContext(ctx, "start phases", "function", spec.Name,
		"config_us", t1.Sub(t0).Microseconds(), "deps_us", t2.Sub(t1).Microseconds(),
		"catalog_sync_us", t3.Sub(t2).Microseconds(), "handler_us", time.Since(t3).Microseconds())
	return Wrap(spec.Name, cfg, log, h), deps, nil
}

// Main is the whole main of a function binary: configuration, dependencies,
// and Run (Lambda or a local port). A configuration error stops it with one
// line naming the variable.
func Main(spec Spec) {
	log := httpkit.NewLogger(os.Getenv("LOG_LEVEL"))
	h, _, err := Build(context.Background(), spec, log)
	if err != nil {
		slog.SetDefault(log)
		httpkit.Fatal(spec.Name, err)
	}
	httpkit.Run(spec.Name, h, log)
}
