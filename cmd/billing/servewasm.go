package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"billing/internal/registry"
	"billing/internal/wasiserve"
	"billing/shared/httpkit"
)

// runServeWasm is `billing serve`, with every function running as its
// wasi:http component (make wasm) under `jco serve`, behind one router on
// PORT. It stops every process it started when it ends.
func runServeWasm(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve-wasm", flag.ContinueOnError)
	dir := fs.String("dir", "dist/wasm", "folder with <name>.wasm for every function")
	jco := fs.String("jco", "tools/wasi/node_modules/.bin/jco", "the jco executable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := httpkit.NewLogger(getenv("LOG_LEVEL", ""))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := "127.0.0.1:" + getenv("PORT", "54321")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	defer ln.Close()
	var names []string
	for _, s := range registry.All() {
		names = append(names, s.Name)
	}
	started := time.Now()
	srv, err := wasiserve.Start(ctx, wasiserve.Config{Names: names, Dir: *dir, JCO: *jco, Listener: ln, Log: os.Stderr})
	if err != nil {
		return err
	}
	defer srv.Close()
	log.Info("components ready", "functions", len(names), "start_ms", time.Since(started).Milliseconds(), "supabase_url", srv.SupabaseURL)
	if os.Getenv("SUPABASE_URL") == "" && srv.SupabaseURL != "" {
		fmt.Fprintf(os.Stderr, "serve-wasm: the components use %s as SUPABASE_URL (tokens need its issuer: SUPABASE_URL=%s go run ./cmd/billing token)\n", srv.SupabaseURL, srv.SupabaseURL)
	}
	hs := &http.Server{Handler: srv.Handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}
