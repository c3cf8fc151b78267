package contract

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"billing/internal/ops"
	"billing/internal/registry"
	"billing/internal/stripetest"
	"billing/internal/testdb"
	"billing/internal/wasiserve"
	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/function"
	"billing/shared/httpkit"
)

const (
	siteURL       = "https://app.example"
	webhookSecret = "whsec_contract_test_secret"
	standardPrice = "price_std_test"
)

// target is one running set of the seven functions.
type target struct {
	base   string // http://host:port
	issuer string // the iss the functions expect ("" = any)
	db     *testdb.DB
}

// environment is what both targets are configured from, as `billing
// serve` reads it.
func environment(db *testdb.DB) map[string]string {
	return map[string]string{
		"SUPABASE_JWT_SECRET":           authtest.Secret,
		"SITE_URL":                      siteURL,
		"ALLOWED_ORIGINS":               siteURL,
		"STRIPE_MODE":                   "test",
		"STRIPE_SECRET_KEY":             stripetest.Key,
		"STRIPE_API_BASE":               "",
		"STRIPE_WEBHOOK_SECRET":         webhookSecret,
		"STRIPE_STANDARD_PRICE_ID_TEST": standardPrice,
		"STRIPE_PREMIUM_PRICE_ID_TEST":  "price_prem_test",
		"DATABASE_URL":                  db.URL,
		"SUPABASE_URL":                  "",
		"PUBLIC_SUPABASE_URL":           "",
		"SUPABASE_SERVICE_ROLE_KEY":     "",
		"SENDGRID_API_KEY":              "",
		"LOG_LEVEL":                     "warn",
	}
}

// TestContractNative runs the contract against the native server: every
// function built from the environment, as `billing serve` does.
func TestContractNative(t *testing.T) {
	runContract(t, startNative(t))
}

// startNative serves every function in-process from the environment.
func startNative(t testing.TB) target {
	db := testdb.New(t)
	env := environment(db)
	env["STRIPE_API_BASE"] = stripeBase(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	mux := http.NewServeMux()
	for _, s := range registry.All() {
		h, deps, err := function.Build(context.Background(), s, log)
		if err != nil {
			t.Fatalf("build %s: %v", s.Name, err)
		}
		t.Cleanup(deps.Close)
		httpkit.Mount(mux, s.Name, h)
	}
	mux.Handle("/", httpkit.NotFound())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return target{base: srv.URL, db: db}
}

// TestContractWASI runs the same contract against the components of
// `make wasm` under `jco serve`, behind serve-wasm's router and its local
// REST endpoint. BILLING_WASM_DIR names the components' folder and
// BILLING_JCO the jco executable (make test sets both); without them the
// test is skipped, unless BILLING_WASM_REQUIRED is set.
func TestContractWASI(t *testing.T) {
	runContract(t, startWASI(t))
}

// startWASI serves every function as its component, as serve-wasm does.
func startWASI(t testing.TB) target {
	dir, jco := os.Getenv("BILLING_WASM_DIR"), os.Getenv("BILLING_JCO")
	if dir == "" || jco == "" {
		if os.Getenv("BILLING_WASM_REQUIRED") != "" {
			t.Fatal("BILLING_WASM_DIR and BILLING_JCO must be set (make test sets them after make wasm)")
		}
		t.Skip("BILLING_WASM_DIR / BILLING_JCO not set: run make test (it builds the components first)")
	}
	db := testdb.New(t)
	environ := wasiEnviron(t, db)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range registry.All() {
		names = append(names, s.Name)
	}
	logs := &lockedBuffer{}
	started := time.Now()
	ws, err := wasiserve.Start(context.Background(), wasiserve.Config{
		Names: names, Dir: dir, JCO: jco, Env: environ, Listener: ln, Log: logs,
	})
	if err != nil {
		ln.Close()
		t.Fatalf("serve-wasm: %v\n%s", err, logs.String())
	}
	t.Logf("seven components answering after %s", time.Since(started).Round(time.Millisecond))
	srv := &http.Server{Handler: ws.Handler}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		ws.Close()
		if t.Failed() {
			t.Logf("component output:\n%s", logs.String())
		}
	})
	return target{base: "http://" + ln.Addr().String(), issuer: ws.SupabaseURL + "/auth/v1", db: db}
}

// wasiEnviron is the process environment for the components: the
// contract's variables, and none of the caller's Stripe or Supabase ones.
func wasiEnviron(t testing.TB, db *testdb.DB) []string {
	env := environment(db)
	env["STRIPE_API_BASE"] = stripeBase(t)
	var environ []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); env[k] == "" && !strings.HasPrefix(k, "STRIPE_") && !strings.HasPrefix(k, "SUPABASE_") {
			environ = append(environ, kv)
		}
	}
	for k, v := range env {
		if v != "" {
			environ = append(environ, k+"="+v)
		}
	}
	return environ
}

// call is one request to a function; it returns the status, the headers
// and the JSON body.
func (tg target) call(t testing.TB, method, name, token, body string, header http.Header) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, tg.base+httpkit.BasePath+name, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 60 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, name, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s answered %d with a body that is not a JSON object: %q", method, name, res.StatusCode, raw)
		}
	}
	return res.StatusCode, res.Header, out
}

func (tg target) token(t testing.TB, userID, email string, ttl time.Duration) string {
	return authtest.Mint(t, authtest.Secret, auth.MintClaims{UserID: userID, Email: email, Issuer: tg.issuer, TTL: ttl})
}

// webhook posts a signed Stripe event.
func (tg target) webhook(t testing.TB, payload []byte) (int, map[string]any) {
	t.Helper()
	h := http.Header{"Stripe-Signature": {ops.SignatureHeader(payload, webhookSecret, time.Now())}}
	code, _, body := tg.call(t, http.MethodPost, "handle-stripe-webhook", "", string(payload), h)
	return code, body
}
