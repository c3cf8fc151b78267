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

	"billing/shared/auth"
	"billing/shared/config"
	"billing/shared/httpkit"
	"billing/shared/plans"
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
}

// Spec describes one function: its URL name, what configuration it needs,
// and how to build its handler from Deps.
type Spec struct {
	Name  string
	Needs config.Need
	Build func(ctx context.Context, d *Deps) (http.Handler, error)
}

// NewDeps builds the shared dependencies for cfg. It only opens and reads:
// a function's start (Build, Main) also calls SyncCatalog.
func NewDeps(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Deps, error) {
	d := &Deps{Config: cfg, Log: log}
	n := cfg.Needs()
	if n&config.NeedAuth != 0 {
		v, err := auth.NewVerifier(auth.Config{JWTSecret: cfg.JWTSecret, SupabaseURL: cfg.SupabaseURL})
		if err != nil {
			return nil, err
		}
		d.Verifier = v
	}
	if n&config.NeedDatabase != 0 {
		c, err := store.Open(ctx, cfg.DatabaseURL, cfg.SupabaseURL, cfg.ServiceRoleKey)
		if err != nil {
			return nil, err
		}
		d.Store = store.New(c)
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

// Close releases what Deps holds.
func (d *Deps) Close() {
	if d.Store != nil {
		d.Store.Close()
	}
}

// Wrap adds what every function answers with: request IDs, logs, panic
// recovery and CORS.
func Wrap(name string, cfg *config.Config, log *slog.Logger, h http.Handler) http.Handler {
	return httpkit.Middleware(name, log, httpkit.CORS(cfg.AllowedOrigins, h))
}

// Build loads the configuration for spec from the environment, makes the
// database's copy of the catalog's limits match the function's catalog
// (SyncCatalog), and builds its wrapped handler: a function's start.
func Build(ctx context.Context, spec Spec, log *slog.Logger) (http.Handler, *Deps, error) {
	cfg, err := config.FromEnv(spec.Needs)
	if err != nil {
		return nil, nil, err
	}
	deps, err := NewDeps(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	deps.SyncCatalog(ctx)
	h, err := spec.Build(ctx, deps)
	if err != nil {
		deps.Close()
		return nil, nil, fmt.Errorf("%s: %w", spec.Name, err)
	}
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
