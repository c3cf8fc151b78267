package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"billing/shared/httpkit"
	"billing/shared/migrate"
	"billing/shared/plans"
	"billing/shared/stripesync"
)

func runMigrate(ctx context.Context, _ []string) error {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return errors.New("DATABASE_URL is not set")
	}
	return migrateURL(ctx, url)
}

// migrateURL applies the migrations, printing the warnings they raise (such
// as a profiles policy that shows billing columns to other users), then
// stores the plan catalog's limits (syncCatalog).
func migrateURL(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if n.SeverityUnlocalized == "WARNING" || n.Severity == "WARNING" {
			fmt.Fprintf(os.Stderr, "migrate: WARNING: %s\n", n.Message)
			if n.Hint != "" {
				fmt.Fprintf(os.Stderr, "migrate:   %s\n", n.Hint)
			}
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	applied, err := migrate.Apply(ctx, conn, httpkit.NewLogger(""))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "migrate: %d migration(s) applied\n", len(applied))
	return syncCatalog(ctx, conn)
}

// syncCatalog stores the limits of the plan catalog the functions load
// (BILLING_PLANS_FILE or the embedded default, for STRIPE_MODE) in the
// database (billing_sync_catalog), where consume_usage and get_usage find
// the free plan's limits for users who never subscribed. A catalog that
// cannot be loaded here (STRIPE_MODE or a price variable unset) is skipped
// with a note: the webhook and reconcile runs store it as well.
func syncCatalog(ctx context.Context, conn *pgx.Conn) error {
	cat, err := plans.Load(os.Getenv("BILLING_PLANS_FILE"), strings.ToLower(strings.TrimSpace(os.Getenv("STRIPE_MODE"))), os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "migrate: plan catalog not stored (%v); until the first webhook event or "+
			"reconcile run stores it, users without a subscription get no_limit_row from consume_usage\n", err)
		return nil
	}
	var raw []byte
	if err := conn.QueryRow(ctx, `select public.billing_sync_catalog(p_catalog => $1::jsonb)::text`,
		string(stripesync.CatalogDocument(cat))).Scan(&raw); err != nil {
		return fmt.Errorf("migrate: storing the plan catalog's limits: %w", err)
	}
	var res stripesync.CatalogSync
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("migrate: billing_sync_catalog: %w", err)
	}
	state := "unchanged"
	if res.Changed {
		state = "stored"
	}
	fmt.Fprintf(os.Stderr, "migrate: plan catalog limits %s (%d plans, free plan %q)\n", state, res.Plans, cat.FreePlan)
	return nil
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
