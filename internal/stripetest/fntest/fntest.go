// Package fntest runs a Stripe-calling billing function in a test exactly
// as its main builds it (configuration from the environment, function.Deps,
// function.Wrap), against the real test database over either data path
// (pgx, or the Supabase REST API through storetest) and against stripe-mock
// behind a recording stripetest.Proxy. It also mints user tokens, makes HTTP
// calls and captures the function's logs.
package fntest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"billing/internal/storetest"
	"billing/internal/stripetest"
	"billing/internal/testdb"
	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/store"
)

// Secret is the JWT secret of the test project.
const Secret = authtest.Secret

// ServiceKey is the REST path's service-role key; JWT-shaped, so the
// stand-in also checks the Authorization header.
const ServiceKey = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl"

// SiteURL is SITE_URL in tests.
const SiteURL = "https://app.example"

// Prices of the default catalog in tests.
const (
	StandardPrice = "price_std_test"
	PremiumPrice  = "price_prem_test"
)

// Options chooses the data path and adjusts the environment.
type Options struct {
	// Path is "pgx" (the default) or "rest".
	Path string
	// DB is the database to use; nil creates one.
	DB *testdb.DB
	// Env overrides or adds environment variables ("" removes one).
	Env map[string]string
}

// Env is a running function.
type Env struct {
	// DB is the test database, Proxy the recording proxy to stripe-mock.
	DB    *testdb.DB
	Proxy *stripetest.Proxy
	// Config and Deps are what the function was built from.
	Config *config.Config
	Deps   *function.Deps
	// URL is the function's URL: base + /functions/v1/<name>.
	URL string
	// Path is the data path, "pgx" or "rest".
	Path string

	logs *syncBuffer
}

// DefaultEnv is the environment a function is built from, without the data
// path's variables and STRIPE_API_BASE.
func DefaultEnv() map[string]string {
	return map[string]string{
		"SUPABASE_JWT_SECRET":           Secret,
		"SITE_URL":                      SiteURL,
		"STRIPE_MODE":                   "test",
		"STRIPE_SECRET_KEY":             stripetest.Key,
		"STRIPE_STANDARD_PRICE_ID_TEST": StandardPrice,
		"STRIPE_PREMIUM_PRICE_ID_TEST":  PremiumPrice,
	}
}

// Start builds spec for the options and serves it until t ends.
func Start(t testing.TB, spec function.Spec, opt Options) *Env {
	t.Helper()
	e := &Env{DB: opt.DB, Path: opt.Path, logs: &syncBuffer{}}
	if e.DB == nil {
		e.DB = testdb.New(t)
	}
	if e.Path == "" {
		e.Path = "pgx"
	}
	e.Proxy = stripetest.NewProxy(t, stripetest.MockURL(t))
	env := DefaultEnv()
	env["STRIPE_API_BASE"] = e.Proxy.URL
	switch e.Path {
	case "pgx":
		env["DATABASE_URL"] = e.DB.URL
	case "rest":
		rest := storetest.NewREST(t, e.DB, ServiceKey)
		env["SUPABASE_URL"] = rest.URL
		env["SUPABASE_SERVICE_ROLE_KEY"] = ServiceKey
	default:
		t.Fatalf("fntest: unknown data path %q", e.Path)
	}
	for k, v := range opt.Env {
		env[k] = v
	}
	// The catalog reads its price variables with os.Getenv.
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, spec.Needs)
	if err != nil {
		t.Fatalf("fntest: config: %v", err)
	}
	// Info, the production default: stripe-go's debug lines echo Stripe's
	// answers, customer emails included.
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	deps, err := function.NewDeps(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("fntest: deps: %v", err)
	}
	t.Cleanup(deps.Close)
	if _, isREST := deps.Store.Caller.(*store.REST); isREST != (e.Path == "rest") {
		t.Fatalf("fntest: data path %s not chosen from the environment", e.Path)
	}
	h, err := spec.Build(context.Background(), deps)
	if err != nil {
		t.Fatalf("fntest: build %s: %v", spec.Name, err)
	}
	srv := httptest.NewServer(function.Wrap(spec.Name, cfg, log, h))
	t.Cleanup(srv.Close)
	e.Config, e.Deps, e.URL = cfg, deps, srv.URL+"/functions/v1/"+spec.Name
	return e
}

// Token mints a valid access token for the user, as Supabase Auth would.
func (e *Env) Token(t testing.TB, userID, email string) string {
	t.Helper()
	return authtest.Mint(t, Secret, auth.MintClaims{UserID: userID, Email: email, Issuer: e.Config.Issuer()})
}

// Call is one HTTP request to the function.
type Call struct {
	Method      string // default POST
	Token       string // Bearer token; "" sends none
	ContentType string // default application/json when Body is set
	Body        string
}

// Do sends c and returns the status and the decoded JSON body.
func (e *Env) Do(t testing.TB, c Call) (int, map[string]any) {
	t.Helper()
	if c.Method == "" {
		c.Method = http.MethodPost
	}
	req, err := http.NewRequest(c.Method, e.URL, strings.NewReader(c.Body))
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.ContentType == "" && c.Body != "" {
		c.ContentType = "application/json"
	}
	if c.ContentType != "" {
		req.Header.Set("Content-Type", c.ContentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("fntest: %s answered %d with a body that is not a JSON object: %q", e.URL, res.StatusCode, raw)
	}
	return res.StatusCode, body
}

// Post sends body as JSON with token.
func (e *Env) Post(t testing.TB, token, body string) (int, map[string]any) {
	t.Helper()
	return e.Do(t, Call{Token: token, Body: body})
}

// CheckReject sends c, a request the function must refuse before it calls
// Stripe, and fails t unless the answer has wantStatus and the error code
// wantCode and the function made no Stripe call for it. It returns the
// decoded body.
func (e *Env) CheckReject(t testing.TB, c Call, wantStatus int, wantCode string) map[string]any {
	t.Helper()
	e.Proxy.Reset()
	code, body := e.Do(t, c)
	if code != wantStatus || body["error"] != wantCode {
		t.Fatalf("got %d %v, want %d %s", code, body, wantStatus, wantCode)
	}
	if n := e.Proxy.Count("", "/"); n != 0 {
		t.Errorf("%d Stripe calls for a rejected request", n)
	}
	return body
}

// Logs returns everything the function logged so far (JSON lines).
func (e *Env) Logs() string { return e.logs.String() }

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
