package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"billing/shared/auth"
)

// DemoUserID is the user `billing dev` creates.
const DemoUserID = "00000000-0000-4000-8000-000000000001"

// DemoEmail is the demo user's address.
const DemoEmail = "demo@example.com"

func runToken(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	userID := fs.String("user", DemoUserID, "user ID (UUID, the token's sub)")
	email := fs.String("email", DemoEmail, "email claim")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret := os.Getenv("SUPABASE_JWT_SECRET")
	if secret == "" {
		secret = readDevEnv()["SUPABASE_JWT_SECRET"]
	}
	if secret == "" {
		return errors.New("SUPABASE_JWT_SECRET is not set (run `make dev` once to create the local one)")
	}
	tok, err := mintToken(secret, *userID, *email, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

func mintToken(secret, userID, email string, ttl time.Duration) (string, error) {
	iss := ""
	if u := getenv("SUPABASE_URL", ""); u != "" {
		iss = u + "/auth/v1"
	}
	return auth.Mint(secret, auth.MintClaims{UserID: userID, Email: email, Issuer: iss, TTL: ttl})
}
