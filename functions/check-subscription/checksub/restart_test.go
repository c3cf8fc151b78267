package checksub_test

// One source of truth for usage limits (issue 13): after a new catalog is
// deployed and the function restarts, with no webhook in between,
// consume_usage enforces the new limits and check-subscription reports
// them, for a user on the free plan and for a paid user, including a
// counter the old catalog did not have.

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/internal/storetest"
	"billing/internal/testdb"
	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/function"
	"billing/shared/plans"
	"billing/shared/store"

	"github.com/jackc/pgx/v5"
)

const catalogBefore = `{"free_plan": "free", "counters": {"properties": {"kind": "cap"}}, "plans": [
	{"id": "free", "limits": {"properties": 3}},
	{"id": "standard", "price_ids": {"test": "price_standard_test"}, "entitlements": ["member_access"], "limits": {"properties": 10}}]}`

const catalogAfter = `{"free_plan": "free", "counters": {"properties": {"kind": "cap"}, "exports": {"kind": "monthly"}}, "plans": [
	{"id": "free", "limits": {"properties": 5, "exports": 0}},
	{"id": "standard", "price_ids": {"test": "price_standard_test"}, "entitlements": ["member_access"], "limits": {"properties": 20, "exports": 2}}]}`

// start builds check-subscription as main does, with the catalog in
// BILLING_PLANS_FILE, on one data path: a function start (function.Build,
// as main does).
func start(t *testing.T, db *testdb.DB, path, catalogFile string) (url string, cat *plans.Catalog, mint func(user string) string) {
	t.Helper()
	env := map[string]string{
		"SUPABASE_JWT_SECRET": secret,
		"SITE_URL":            "https://app.example",
		"STRIPE_MODE":         "test",
		"BILLING_PLANS_FILE":  catalogFile,
		"DATABASE_URL":        "",
		"SUPABASE_URL":        "",
	}
	if path == "pgx" {
		env["DATABASE_URL"] = db.URL
	} else {
		rest := storetest.NewREST(t, db, serviceKey)
		env["SUPABASE_URL"], env["SUPABASE_SERVICE_ROLE_KEY"] = rest.URL, serviceKey
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	h, deps, err := function.Build(context.Background(), checksub.Spec, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(deps.Close)
	<-deps.CatalogSynced() // the start's sync runs in the background
	cfg := deps.Config
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, deps.Catalog, func(user string) string {
		return authtest.Mint(t, secret, auth.MintClaims{UserID: user, Email: "u@example.com", Issuer: cfg.Issuer()})
	}
}

func consumeAs(t *testing.T, db *testdb.DB, user, counter string) (allowed bool, limit any) {
	t.Helper()
	ctx := context.Background()
	var got struct {
		Allowed bool `json:"allowed"`
		Limit   any  `json:"limit"`
	}
	err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
		var raw []byte
		if err := tx.QueryRow(ctx, `select public.consume_usage(p_counter => $1)`, counter).Scan(&raw); err != nil {
			return err
		}
		return json.Unmarshal(raw, &got)
	})
	if err != nil {
		t.Fatal(err)
	}
	return got.Allowed, got.Limit
}

func TestNewCatalogAppliesAtTheNextStart(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			db := testdb.New(t)
			dir := t.TempDir()
			file := filepath.Join(dir, "plans.json")
			if err := os.WriteFile(file, []byte(catalogBefore), 0o600); err != nil {
				t.Fatal(err)
			}
			_, before, _ := start(t, db, path, file)

			free := db.CreateUser(t, "")
			paid := db.CreateUser(t, "")
			insertSub(t, db, paid, "sub_paid", "active", "standard", time.Now().Add(20*24*time.Hour).UTC().Truncate(time.Second), false)
			// What the webhook does for the paid user under the old catalog.
			db.MustExec(t, `select public.billing_refresh_user($1, $2::jsonb)`, paid, string(store.CatalogDocument(before)))
			for range 3 {
				consumeAs(t, db, free, "properties")
			}
			if ok, limit := consumeAs(t, db, free, "properties"); ok || limit != float64(3) {
				t.Fatalf("old catalog: 4th free property allowed=%v limit=%v; want refused under 3", ok, limit)
			}

			// Deploy the new catalog; the function starts again. No webhook.
			if err := os.WriteFile(file, []byte(catalogAfter), 0o600); err != nil {
				t.Fatal(err)
			}
			url, _, mint := start(t, db, path, file)

			if ok, limit := consumeAs(t, db, free, "properties"); !ok || limit != float64(5) {
				t.Errorf("new catalog: 4th free property allowed=%v limit=%v; want allowed under 5", ok, limit)
			}
			_, body := get(t, url, mint(free))
			wantCounter(t, body, "properties", "cap", 4, 5)
			wantCounter(t, body, "exports", "monthly", 0, 0)
			if lim := body["limits"].(map[string]any); lim["properties"] != float64(5) {
				t.Errorf("free limits = %v, want properties 5", lim)
			}

			// The paid user: the new cap of their plan, and the new counter.
			if ok, limit := consumeAs(t, db, paid, "properties"); !ok || limit != float64(20) {
				t.Errorf("paid user's property: allowed=%v limit=%v; want allowed under 20", ok, limit)
			}
			for i, want := range []bool{true, true, false} {
				if ok, limit := consumeAs(t, db, paid, "exports"); ok != want || limit != float64(2) {
					t.Errorf("paid user's export %d: allowed=%v limit=%v; want %v under 2", i+1, ok, limit, want)
				}
			}
			_, body = get(t, url, mint(paid))
			wantCounter(t, body, "properties", "cap", 1, 20)
			wantCounter(t, body, "exports", "monthly", 2, 2)
		})
	}
}

// wantCounter checks one counter of a check-subscription body's usage.
func wantCounter(t *testing.T, body map[string]any, name, kind string, used, limit int) {
	t.Helper()
	usage, _ := body["usage"].(map[string]any)
	c, _ := usage[name].(map[string]any)
	remaining := max(limit-used, 0)
	if c == nil || c["kind"] != kind || c["used"] != float64(used) || c["limit"] != float64(limit) ||
		c["remaining"] != float64(remaining) || (kind == "monthly") != (c["resetsAt"] != nil) {
		t.Errorf("usage.%s = %v; want kind %s, used %d, limit %d, remaining %d", name, c, kind, used, limit, remaining)
	}
}
