package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"billing/internal/devstack"
	"billing/shared/httpkit"
)

// dataDir is the ignored folder of the checkout where `billing dev` keeps
// its Postgres data and generated local secrets.
const dataDir = ".data"

// devDefaults are set when the environment does not set them.
var devDefaults = map[string]string{
	"STRIPE_MODE":                   "test",
	"SITE_URL":                      "http://localhost:5173",
	"ALLOWED_ORIGINS":               "*",
	"STRIPE_STANDARD_PRICE_ID_TEST": "price_dev_standard",
	"STRIPE_PREMIUM_PRICE_ID_TEST":  "price_dev_premium",
	"PORT":                          "54321",
}

func runDev(ctx context.Context, _ []string) error {
	log := httpkit.NewLogger(getenv("LOG_LEVEL", ""))
	slog.SetDefault(log)
	secrets, err := devSecrets()
	if err != nil {
		return err
	}
	for k, v := range secrets {
		setDefault(k, v)
	}
	for k, v := range devDefaults {
		setDefault(k, v)
	}

	if os.Getenv("DATABASE_URL") == "" && os.Getenv("SUPABASE_SERVICE_ROLE_KEY") == "" {
		pg, err := devstack.StartPostgres(ctx, filepath.Join(dataDir, "postgres"), atoi(getenv("DEV_DB_PORT", "54322")), false, os.Stderr)
		if err != nil {
			return err
		}
		defer pg.Stop()
		if err := pg.CreateDatabase(ctx, "billing"); err != nil {
			return err
		}
		os.Setenv("DATABASE_URL", pg.URL("billing"))
		fmt.Fprintf(os.Stderr, "dev: postgres on 127.0.0.1:%d (data in %s)\n", pg.Port, pg.DataDir)
	}
	if url := os.Getenv("DATABASE_URL"); url != "" {
		if err := migrateURL(ctx, url); err != nil {
			return err
		}
		if err := ensureDemoUser(ctx, url); err != nil {
			return err
		}
	}
	if os.Getenv("STRIPE_SECRET_KEY") == "" {
		sm, err := devstack.StartStripeMock(ctx, getenv("BILLING_BIN_DIR", ".bin"), atoi(getenv("DEV_STRIPE_MOCK_PORT", "12111")), os.Stderr)
		if err != nil {
			return err
		}
		defer sm.Stop()
		os.Setenv("STRIPE_SECRET_KEY", "sk_test_stripemock")
		os.Setenv("STRIPE_API_BASE", sm.URL)
		fmt.Fprintf(os.Stderr, "dev: stripe-mock %s on %s (no STRIPE_SECRET_KEY set)\n", devstack.StripeMockVersion, sm.URL)
	}
	if os.Getenv("SENDGRID_API_KEY") == "" {
		fmt.Fprintln(os.Stderr, "dev: no SENDGRID_API_KEY: emails are logged, not sent")
	}

	tok, err := mintToken(os.Getenv("SUPABASE_JWT_SECRET"), DemoUserID, DemoEmail, 24*time.Hour)
	if err != nil {
		return err
	}
	base := "http://127.0.0.1:" + os.Getenv("PORT") + httpkit.BasePath
	fmt.Printf(`
Billing functions are running at %s<name>

Demo user %s, access token (24 h; new one: go run ./cmd/billing token):

  export TOKEN=%s

Try:

  curl -s -H "Authorization: Bearer $TOKEN" %scheck-subscription

React: new FunctionsClient('%s', { headers: { Authorization: 'Bearer ' + session.access_token } })

`, base, DemoUserID, tok, base, strings.TrimSuffix(base, "/"))
	return runServe(ctx, nil)
}

func ensureDemoUser(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `insert into auth.users (id, email) values ($1, $2) on conflict (id) do nothing`, DemoUserID, DemoEmail)
	return err
}

// devSecrets returns the local secrets, generating and keeping them in
// .data/dev.env on the first run.
func devSecrets() (map[string]string, error) {
	env := readDevEnv()
	changed := false
	for k, prefix := range map[string]string{"SUPABASE_JWT_SECRET": "", "STRIPE_WEBHOOK_SECRET": "whsec_"} {
		if env[k] == "" {
			env[k] = prefix + randomHex(32)
			changed = true
		}
	}
	if changed {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, err
		}
		var b strings.Builder
		b.WriteString("# Local development secrets made by `billing dev`. Not for production.\n")
		for k, v := range env {
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
		if err := os.WriteFile(filepath.Join(dataDir, "dev.env"), []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
	}
	return env, nil
}

func readDevEnv() map[string]string {
	env := map[string]string{}
	f, err := os.Open(filepath.Join(dataDir, "dev.env"))
	if err != nil {
		return env
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	return env
}

func setDefault(k, v string) {
	if os.Getenv(k) == "" {
		os.Setenv(k, v)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}
