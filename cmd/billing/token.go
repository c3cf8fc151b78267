package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	neturl "net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"billing/internal/devstack"
	"billing/shared/auth"
)

// DemoUserID is the user `billing dev` creates.
const DemoUserID = "00000000-0000-4000-8000-000000000001"

// DemoEmail is the demo user's address.
const DemoEmail = "demo@example.com"

func runToken(ctx context.Context, args []string) error {
	return tokenCmd(ctx, args, os.Stdout, os.Stderr)
}

// tokenCmd is `billing token [-user UUID] [-email E] [-ttl 1h] [-create]`:
// it mints a dev access token and, by default, creates the user in the
// local database (the one of `make dev`, or a DATABASE_URL on this
// machine), since checkout refuses a token whose user does not exist.
func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	userID := fs.String("user", DemoUserID, "user ID (UUID, the token's sub)")
	email := fs.String("email", DemoEmail, "email claim")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	create := fs.Bool("create", true, "create the user in auth.users of the local database (make dev's, or a DATABASE_URL on 127.0.0.1/localhost) unless it exists")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !auth.IsUUID(*userID) {
		return fmt.Errorf("-user must be a user ID (UUID), got %q", *userID)
	}
	id := strings.ToLower(*userID)
	secret := os.Getenv("SUPABASE_JWT_SECRET")
	if secret == "" {
		secret = readDevEnv()["SUPABASE_JWT_SECRET"]
	}
	if secret == "" {
		return errors.New("SUPABASE_JWT_SECRET is not set (run `make dev` once to create the local one)")
	}
	if *create {
		createLocalUser(ctx, id, *email, stderr)
	}
	tok, err := mintToken(secret, id, *email, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// createLocalUser creates the user in the local database, saying so on
// stderr when it cannot (the token is still printed).
func createLocalUser(ctx context.Context, userID, email string, stderr io.Writer) {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		url = fmt.Sprintf("postgres://postgres@127.0.0.1:%s/billing?sslmode=disable", getenv("DEV_DB_PORT", "54322"))
	} else if !isLocalURL(url) {
		fmt.Fprintln(stderr, "token: DATABASE_URL is not on this machine: the user is not created (sign them up in Supabase)")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		defer conn.Close(ctx)
		err = devstack.EnsureUser(ctx, conn, userID, email)
	}
	if err != nil {
		fmt.Fprintf(stderr, "token: the user was not created (%v); is `make dev` running? Checkout refuses a user that does not exist.\n", err)
	}
}

// isLocalURL reports whether a Postgres URL names this machine.
func isLocalURL(raw string) bool {
	u, err := neturl.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "127.0.0.1" || h == "localhost" || h == "::1"
}

func mintToken(secret, userID, email string, ttl time.Duration) (string, error) {
	iss := ""
	if u := getenv("SUPABASE_URL", ""); u != "" {
		iss = u + "/auth/v1"
	}
	return auth.Mint(secret, auth.MintClaims{UserID: userID, Email: email, Issuer: iss, TTL: ttl})
}
