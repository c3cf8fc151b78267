package checksub_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/internal/storetest"
	"billing/internal/testdb"
	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/store"
)

const secret = "test-jwt-secret-with-at-least-32-characters!!"

// The REST path's service key; a JWT-shaped string so the Authorization
// header is checked too.
const serviceKey = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl"

// quiet drops the request logs, which would drown the test output.
var quiet = slog.New(slog.DiscardHandler)

// server builds the function exactly as main does (config, deps, wrap) for
// one data path and returns its URL.
func server(t testing.TB, db *testdb.DB, path string) (url string, mint func(userID string) string) {
	t.Helper()
	h, mint := handler(t, db, path)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, mint
}

// handler is the function as its server serves it (function.Wrap's
// middleware included) on the data path ("pgx" or "rest"), and a minter of
// its users' tokens.
func handler(t testing.TB, db *testdb.DB, path string) (http.Handler, func(userID string) string) {
	t.Helper()
	env := map[string]string{
		"SUPABASE_JWT_SECRET":           secret,
		"SITE_URL":                      "https://app.example",
		"STRIPE_MODE":                   "test",
		"STRIPE_STANDARD_PRICE_ID_TEST": "price_std_test",
		"STRIPE_PREMIUM_PRICE_ID_TEST":  "price_prem_test",
	}
	switch path {
	case "pgx":
		env["DATABASE_URL"] = db.URL
	case "rest":
		rest := storetest.NewREST(t, db, serviceKey)
		env["SUPABASE_URL"] = rest.URL
		env["SUPABASE_SERVICE_ROLE_KEY"] = serviceKey
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, checksub.Spec.Needs)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := function.NewDeps(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, isREST := deps.Store.Caller.(*store.REST); isREST != (path == "rest") {
		t.Fatalf("data path %s not chosen from the environment", path)
	}
	t.Cleanup(deps.Close)
	h, err := checksub.Spec.Build(context.Background(), deps)
	if err != nil {
		t.Fatal(err)
	}
	return function.Wrap(checksub.Name, cfg, quiet, h), func(userID string) string {
		return authtest.Mint(t, secret, auth.MintClaims{UserID: userID, Email: "u@example.com", Issuer: cfg.Issuer()})
	}
}

func insertSub(t testing.TB, db *testdb.DB, userID, id, status, plan string, periodEnd time.Time, cancel bool) {
	t.Helper()
	db.MustExec(t, `insert into public.subscriptions (id, user_id, customer_id, status, price_id, plan,
		current_period_start, current_period_end, cancel_at_period_end, stripe_created, state_at)
		values ($1, $2, 'cus_'||$1, $3, 'price_'||$4||'_test', $4, $5::timestamptz - interval '1 month', $5, $6, now() - interval '40 days', now())`,
		id, userID, status, plan, periodEnd, cancel)
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/functions/v1/check-subscription", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, body
}

func TestCheckSubscriptionBothPaths(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			db := testdb.New(t)
			url, mint := server(t, db, path)

			free := db.CreateUser(t, "free@example.com")
			active := db.CreateUser(t, "active@example.com")
			canceling := db.CreateUser(t, "canceling@example.com")
			ended := db.CreateUser(t, "ended@example.com")
			end := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
			insertSub(t, db, active, "sub_active", "active", "standard", end, false)
			insertSub(t, db, canceling, "sub_canceling", "active", "premium", end, true)
			insertSub(t, db, ended, "sub_ended", "active", "premium", time.Now().Add(-time.Minute), true)

			tests := []struct {
				name       string
				user       string
				wantPlan   string
				subscribed bool
				accessNull bool
			}{
				{"no subscription is free", free, "free", false, true},
				{"active", active, "standard", true, true},
				{"scheduled cancel keeps access", canceling, "premium", true, false},
				{"scheduled cancel after the end", ended, "free", false, false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					code, body := get(t, url, mint(tt.user))
					if code != 200 {
						t.Fatalf("status %d: %v", code, body)
					}
					if body["plan"] != tt.wantPlan || body["subscribed"] != tt.subscribed || body["isSubscribed"] != tt.subscribed {
						t.Fatalf("body = %v", body)
					}
					if (body["accessUntil"] == nil) != tt.accessNull {
						t.Fatalf("accessUntil = %v", body["accessUntil"])
					}
					if body["hasMemberAccess"] != tt.subscribed {
						t.Fatalf("hasMemberAccess = %v", body["hasMemberAccess"])
					}
				})
			}
			t.Run("scheduled cancel body", func(t *testing.T) {
				_, body := get(t, url, mint(canceling))
				want := end.Format(time.RFC3339)
				if body["cancelAtPeriodEnd"] != true || body["accessUntil"] != want || body["renewalDate"] != want || body["currentPeriodEnd"] != want {
					t.Fatalf("body = %v, want period end %s", body, want)
				}
				if body["limits"].(map[string]any)["properties"] != nil {
					t.Fatalf("premium properties must be unlimited (null): %v", body["limits"])
				}
			})
		})
	}
}

func TestCheckSubscriptionRejects(t *testing.T) {
	db := testdb.New(t)
	url, mint := server(t, db, "pgx")
	user := db.CreateUser(t, "x@example.com")
	tests := []struct {
		name, method, token, body, contentType string
		wantStatus                             int
		wantCode                               string
	}{
		{"no token", "GET", "", "", "", 401, "missing_token"},
		{"garbage token", "GET", "not-a-jwt", "", "", 401, "invalid_token"},
		{"wrong secret", "GET", authtest.UserToken(t, "another-secret-of-sufficient-length-123", user, "x@example.com"), "", "", 401, "invalid_token"},
		{"anon key", "GET", authtest.SignHS256(t, secret, authtest.AnonKeyClaims("ref", time.Now())), "", "", 401, "not_a_user_token"},
		{"wrong method", "DELETE", mint(user), "", "", 405, "method_not_allowed"},
		{"post with a foreign userId is still the caller", "POST", mint(user), `{"userId":"00000000-0000-4000-8000-000000000009"}`, "application/json", 200, ""},
		{"post wrong content type", "POST", mint(user), `a=b`, "text/plain", 415, "unsupported_media_type"},
		{"post too large", "POST", mint(user), `{"a":"` + strings.Repeat("x", 70000) + `"}`, "application/json", 413, "payload_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, url+"/functions/v1/check-subscription", strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(res.Body).Decode(&body)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", res.StatusCode, tt.wantStatus, body)
			}
			if tt.wantCode != "" && body["error"] != tt.wantCode {
				t.Fatalf("error %v, want %s", body["error"], tt.wantCode)
			}
		})
	}
	t.Run("preflight needs no token", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", url+"/functions/v1/check-subscription", nil)
		req.Header.Set("Origin", "https://app.example")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Fatalf("preflight %d %v", res.StatusCode, res.Header)
		}
	})
}
