package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	tsclient "billing/clients/typescript"
	"billing/demo"
	"billing/internal/devstack"
	"billing/internal/localstripe"
	"billing/shared/auth"
	"billing/shared/httpkit"
	"billing/shared/plans"
)

// dataDir is the ignored folder of the checkout where `billing dev` keeps
// its Postgres data, the local Stripe's state and generated local secrets:
// .data, or BILLING_DATA_DIR.
func dataDir() string { return getenv("BILLING_DATA_DIR", ".data") }

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
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
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
	port := os.Getenv("PORT")
	dbPort := atoi(getenv("DEV_DB_PORT", "54322"))
	smPort := atoi(getenv("DEV_STRIPE_MOCK_PORT", "12111"))
	startPG := os.Getenv("DATABASE_URL") == "" && os.Getenv("SUPABASE_SERVICE_ROLE_KEY") == ""
	localStripe := os.Getenv("STRIPE_SECRET_KEY") == ""

	// Every port first: a second `make dev` must not touch the first one's
	// services, and must say who holds the port.
	ports := map[string]int{"PORT, the functions": atoi(port)}
	if startPG {
		ports["DEV_DB_PORT, PostgreSQL"] = dbPort
	}
	if localStripe {
		ports["DEV_STRIPE_MOCK_PORT, stripe-mock"] = smPort
	}
	if err := devstack.CheckPorts(ports); err != nil {
		return fmt.Errorf("%v. Is another `make dev` running? Stop it, or choose other ports (PORT, DEV_DB_PORT, DEV_STRIPE_MOCK_PORT)", err)
	}

	if startPG {
		pg, err := devstack.StartPostgres(ctx, filepath.Join(dataDir(), "postgres"), dbPort, false, os.Stderr)
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
	origin := "http://127.0.0.1:" + port
	base := origin + httpkit.BasePath
	var ls *localstripe.Server
	if localStripe {
		sm, err := devstack.StartStripeMock(ctx, getenv("BILLING_BIN_DIR", ".bin"), smPort, os.Stderr)
		if err != nil {
			return err
		}
		defer sm.Stop()
		ls, err = localstripe.New(localstripe.Options{Upstream: sm.URL, PublicURL: origin,
			WebhookURL: base + "handle-stripe-webhook", WebhookSecret: os.Getenv("STRIPE_WEBHOOK_SECRET"),
			StatePath: filepath.Join(dataDir(), "localstripe.json"), Log: log})
		if err != nil {
			return err
		}
		defer ls.Close()
		os.Setenv("STRIPE_SECRET_KEY", "sk_test_localstripe")
		os.Setenv("STRIPE_API_BASE", ls.APIBase())
		fmt.Fprintf(os.Stderr, "dev: local Stripe at %s (state in %s), validated by stripe-mock %s on %s (no STRIPE_SECRET_KEY set)\n",
			ls.APIBase(), filepath.Join(dataDir(), "localstripe.json"), devstack.StripeMockVersion, sm.URL)
	}
	if os.Getenv("SENDGRID_API_KEY") == "" {
		fmt.Fprintln(os.Stderr, "dev: no SENDGRID_API_KEY: emails are logged, not sent")
	}

	tok, err := mintToken(os.Getenv("SUPABASE_JWT_SECRET"), DemoUserID, DemoEmail, 24*time.Hour)
	if err != nil {
		return err
	}
	mux, closeAll := buildAll(ctx, log)
	defer closeAll()
	if err := mountDev(ctx, mux, ls); err != nil {
		return err
	}
	fmt.Printf(`
Billing functions are running at %s<name>
Demo page: %s/

Demo user %s, access token (24 h; new one: go run ./cmd/billing token):

  export TOKEN=%s

Try:

  curl -s -H "Authorization: Bearer $TOKEN" %scheck-subscription

React: new FunctionsClient('%s', { headers: { Authorization: 'Bearer ' + session.access_token } })

`, base, origin, DemoUserID, tok, base, strings.TrimSuffix(base, "/"))
	return httpkit.Serve(ctx, "127.0.0.1:"+port, mux, log)
}

// mountDev adds what only `billing dev` serves: the local Stripe (ls may be
// nil with a real Stripe key), the dev token and usage endpoints, the
// TypeScript client and the demo page at "/".
func mountDev(ctx context.Context, mux *http.ServeMux, ls *localstripe.Server) error {
	if ls != nil {
		mux.Handle(localstripe.Prefix+"/", ls)
	}
	if url := os.Getenv("DATABASE_URL"); url != "" {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return err
		}
		go func() { <-ctx.Done(); pool.Close() }()
		v, err := auth.NewVerifier(auth.Config{JWTSecret: os.Getenv("SUPABASE_JWT_SECRET"), SupabaseURL: os.Getenv("SUPABASE_URL")})
		if err != nil {
			return err
		}
		iss := ""
		if u := os.Getenv("SUPABASE_URL"); u != "" {
			iss = u + "/auth/v1"
		}
		api := &devstack.DevAPI{DB: pool, Verifier: v, JWTSecret: os.Getenv("SUPABASE_JWT_SECRET"), Issuer: iss,
			DefaultUser: DemoUserID, DefaultEmail: DemoEmail}
		api.Handler(mux)
	}
	mux.Handle("/client/", http.StripPrefix("/client/", http.FileServerFS(tsclient.Dist())))
	prices := map[string]string{}
	if cat, err := plans.Load(os.Getenv("BILLING_PLANS_FILE"), strings.ToLower(os.Getenv("STRIPE_MODE")), os.Getenv); err == nil {
		for _, p := range cat.Plans {
			if id, ok := cat.PriceID(p.ID); ok && cat.IsPaid(p.ID) {
				prices[p.ID] = id
			}
		}
	}
	mux.Handle("/", demo.Handler(demo.Config{DemoUserID: DemoUserID, LocalStripe: ls != nil,
		LocalStripePath: localstripe.Prefix, FunctionsPath: strings.TrimSuffix(httpkit.BasePath, "/"), Prices: prices}))
	return nil
}

func ensureDemoUser(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return devstack.EnsureUser(ctx, conn, DemoUserID, DemoEmail)
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
		if err := os.MkdirAll(dataDir(), 0o755); err != nil {
			return nil, err
		}
		var b strings.Builder
		b.WriteString("# Local development secrets made by `billing dev`. Not for production.\n")
		for k, v := range env {
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
		if err := os.WriteFile(filepath.Join(dataDir(), "dev.env"), []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
	}
	return env, nil
}

func readDevEnv() map[string]string {
	env := map[string]string{}
	f, err := os.Open(filepath.Join(dataDir(), "dev.env"))
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
