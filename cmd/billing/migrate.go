package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"

	"billing/shared/httpkit"
	"billing/shared/migrate"
)

func runMigrate(ctx context.Context, _ []string) error {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return errors.New("DATABASE_URL is not set")
	}
	return migrateURL(ctx, url)
}

func migrateURL(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	applied, err := migrate.Apply(ctx, conn, httpkit.NewLogger(""))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "migrate: %d migration(s) applied\n", len(applied))
	return nil
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
