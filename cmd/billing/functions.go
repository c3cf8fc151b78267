package main

import (
	"context"
	"log/slog"
	"net/http"

	"billing/internal/registry"
	"billing/shared/function"
	"billing/shared/httpkit"
)

// buildAll mounts every function at /functions/v1/<name>. A function whose
// configuration is incomplete answers 503 with the reason, so the others
// still run. The caller mounts "/" (serve: a JSON 404; dev: the demo page).
func buildAll(ctx context.Context, log *slog.Logger) (*http.ServeMux, func()) {
	mux := http.NewServeMux()
	var closers []func()
	for _, s := range registry.All() {
		h, deps, err := function.Build(ctx, s, log)
		if err != nil {
			log.Warn("function not available", "function", s.Name, "error", err.Error())
			msg := err.Error()
			h = httpkit.Handle(func(w http.ResponseWriter, r *http.Request) error {
				return httpkit.NewError(http.StatusServiceUnavailable, httpkit.CodeUnavailable,
					"This function is not configured: "+msg)
			})
		} else {
			closers = append(closers, deps.Close)
			log.Info("function ready", "url_path", httpkit.BasePath+s.Name)
		}
		httpkit.Mount(mux, s.Name, h)
	}
	return mux, func() {
		for _, c := range closers {
			c()
		}
	}
}

func runServe(ctx context.Context, _ []string) error {
	log := httpkit.NewLogger(getenv("LOG_LEVEL", ""))
	slog.SetDefault(log)
	mux, closeAll := buildAll(ctx, log)
	defer closeAll()
	mux.Handle("/", httpkit.NotFound())
	return httpkit.Serve(ctx, "127.0.0.1:"+getenv("PORT", "54321"), mux, log)
}
