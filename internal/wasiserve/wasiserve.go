// Package wasiserve runs every billing function as its wasi:http component
// under `jco serve`, one process per function, behind one local router at
// /functions/v1/<name>: what `billing serve-wasm` serves and what the
// contract tests call. With a DATABASE_URL and no SUPABASE_URL, the router
// also serves the project's own PostgREST-compatible endpoint
// (/rest/v1/rpc/<fn>, internal/storetest) over that database, and the
// components use it as their Supabase project: pgx cannot connect from
// WASI, the REST data path can.
package wasiserve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"billing/internal/storetest"
	"billing/shared/httpkit"
)

// Config says what to run.
type Config struct {
	// Names are the functions; Dir holds <name>.wasm for each.
	Names []string
	Dir   string
	// JCO is the jco executable (tools/wasi/node_modules/.bin/jco).
	JCO string
	// Env is the environment the functions are configured from, as for
	// `billing serve`; nil means os.Environ().
	Env []string
	// Listener is where the router will be served (its address becomes
	// SUPABASE_URL for the local REST endpoint). Required.
	Listener net.Listener
	// Log gets the components' output (their JSON logs); nil discards it.
	Log io.Writer
	// StartTimeout bounds the wait for every component's first answer;
	// zero means five minutes (jco transpiles each component at start).
	StartTimeout time.Duration
}

// Server is the running set: Handler is the router.
type Server struct {
	Handler http.Handler
	// SupabaseURL is the URL the components use as their project: the
	// router itself when it serves the local REST endpoint, else the
	// environment's SUPABASE_URL.
	SupabaseURL string
	// Ports maps each function to the port its `jco serve` listens on.
	Ports map[string]int
	procs []*exec.Cmd
	pool  *pgxpool.Pool
}

// Start starts the components and the local REST endpoint when needed,
// and returns once every component answers. On error everything started
// is stopped.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Listener == nil {
		return nil, errors.New("wasiserve: no listener")
	}
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	s := &Server{Ports: map[string]int{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	mux := http.NewServeMux()
	getenv := func(k string) string { return lookup(env, k) }
	s.SupabaseURL = strings.TrimRight(firstNonEmpty(getenv("SUPABASE_URL"), getenv("PUBLIC_SUPABASE_URL")), "/")
	if dbURL := getenv("DATABASE_URL"); dbURL != "" && s.SupabaseURL == "" {
		pool, err := pgxpool.New(ctx, dbURL)
		if err != nil {
			return nil, fmt.Errorf("wasiserve: DATABASE_URL: %w", err)
		}
		s.pool = pool
		key := "sb_secret_local_" + randomHex(16)
		mux.Handle("/rest/v1/rpc/", storetest.Handler(pool, key))
		// Supabase's JWKS: no asymmetric keys here (tokens are HS256).
		mux.HandleFunc("/auth/v1/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"keys":[]}`)
		})
		s.SupabaseURL = "http://" + cfg.Listener.Addr().String()
		env = setEnv(env, "SUPABASE_URL", s.SupabaseURL)
		env = setEnv(env, "SUPABASE_SERVICE_ROLE_KEY", key)
	}
	// The components take the REST data path: pgx cannot connect from WASI.
	env = setEnv(env, "DATABASE_URL", "")
	env = setEnv(env, "PORT", "")

	for _, name := range cfg.Names {
		wasm := filepath.Join(cfg.Dir, name+".wasm")
		if _, err := os.Stat(wasm); err != nil {
			return nil, fmt.Errorf("wasiserve: %s: %w (run make wasm)", name, err)
		}
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(cfg.JCO, "serve", wasm, "--port", fmt.Sprint(port), "--host", "127.0.0.1")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = cfg.Log, cfg.Log
		// Its own process group: npx and node children go with it on Close.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("wasiserve: start jco serve for %s: %w", name, err)
		}
		s.procs = append(s.procs, cmd)
		s.Ports[name] = port
		target := &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			httpkit.Handle(func(http.ResponseWriter, *http.Request) error {
				return httpkit.NewError(http.StatusBadGateway, httpkit.CodeUnavailable, "The function's component did not answer.")
			}).ServeHTTP(w, r)
		}
		httpkit.Mount(mux, name, proxy)
	}
	mux.Handle("/", httpkit.NotFound())
	s.Handler = mux

	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	if err := s.wait(ctx, timeout); err != nil {
		return nil, err
	}
	return s, nil
}

// wait polls every component until it answers any HTTP status.
func (s *Server) wait(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 30 * time.Second}
	for name, port := range s.Ports {
		for {
			res, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
			if err == nil {
				res.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("wasiserve: %s did not answer within %s: %w", name, timeout, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// Close stops every process group it started (SIGTERM, then SIGKILL) and
// the local endpoint's pool.
func (s *Server) Close() {
	for _, c := range s.procs {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	}
	for _, c := range s.procs {
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	s.procs = nil
	if s.pool != nil {
		s.pool.Close()
		s.pool = nil
	}
}

func lookup(env []string, k string) string {
	v := ""
	for _, kv := range env {
		if name, val, ok := strings.Cut(kv, "="); ok && name == k {
			v = val
		}
	}
	return strings.TrimSpace(v)
}

// setEnv returns env with k set to v ("" removes it).
func setEnv(env []string, k, v string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, k+"=") {
			out = append(out, kv)
		}
	}
	if v != "" {
		out = append(out, k+"="+v)
	}
	return out
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
