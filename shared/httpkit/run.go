package httpkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// BasePath is where every function is mounted, as on Supabase Edge Functions.
const BasePath = "/functions/v1/"

// NewLogger returns the JSON logger every function uses; level is
// LOG_LEVEL (debug, info, warn, error; default info).
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil || level == "" {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// Fatal logs err as the one line that explains why the function cannot
// start, and exits with status 1.
func Fatal(function string, err error) {
	slog.Error("cannot start", "function", function, "error", err.Error())
	fatalExit(err)
}

// fatalExit ends a start that failed; a WASI component (wasi.go) answers
// every request with the reason instead of exiting.
var fatalExit = func(error) { os.Exit(1) }

// component hands h to the host when the program runs as a wasi:http
// component (wasi.go sets it) and reports whether it did.
var component = func(http.Handler) bool { return false }

// Mount routes BasePath+name to h and answers every other path with a 404
// JSON body.
func Mount(mux *http.ServeMux, name string, h http.Handler) {
	mux.Handle(BasePath+name, h)
	mux.Handle(BasePath+name+"/", h)
}

// NotFound is the JSON 404 for paths that are not a function.
func NotFound() http.Handler {
	return Handle(func(w http.ResponseWriter, r *http.Request) error {
		return Errorf(http.StatusNotFound, CodeNotFound, "No function at %s.", truncate(r.URL.Path, 200))
	})
}

// Run serves h, the whole handler of one function. When
// AWS_LAMBDA_RUNTIME_API is set it runs as a Lambda function behind API
// Gateway (HTTP API) or a Function URL; built as a WASI component it
// serves the host's wasi:http requests; otherwise it listens on PORT
// (default 8000) at /functions/v1/<name> until SIGINT or SIGTERM.
func Run(name string, h http.Handler, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	slog.SetDefault(log)
	mux := http.NewServeMux()
	Mount(mux, name, h)
	mux.Handle("/", NotFound())
	if component(mux) {
		return
	}
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		log.Info("starting on AWS Lambda", "function", name)
		startLambda(h)
		return
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8000"
	}
	if err := Serve(context.Background(), ":"+port, mux, log); err != nil {
		Fatal(name, err)
	}
}

// Serve listens on addr and serves h until ctx ends or the process gets
// SIGINT or SIGTERM, then shuts down gracefully.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := listen(addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
	return srv.Shutdown(sctx)
}

// listenTCP is net.Listen; WASI replaces it with a preopened socket.
func listenTCP(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
