package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"billing/internal/localstripe"
	"billing/shared/config"
	"billing/shared/function"
)

// The operator commands (reconcile, replay, status, trigger) read the same
// environment as the functions. With -dev they fill what is unset from the
// local stack `billing dev` runs: its secrets in .data/dev.env, its Postgres
// (DEV_DB_PORT, default 54322, database billing) and its local Stripe
// (on PORT, default 54321, under /local-stripe).

// devFlag adds -dev to fs.
func devFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("dev", false, "fill unset variables from the local stack of `billing dev` (.data/dev.env, its Postgres and stripe-mock)")
}

// applyDevEnv sets, where the environment does not, what `billing dev`
// uses.
func applyDevEnv() {
	for k, v := range readDevEnv() {
		setDefault(k, v)
	}
	for k, v := range devDefaults {
		setDefault(k, v)
	}
	setDefault("DATABASE_URL", fmt.Sprintf("postgres://postgres@127.0.0.1:%s/billing?sslmode=disable", getenv("DEV_DB_PORT", "54322")))
	if os.Getenv("STRIPE_SECRET_KEY") == "" {
		// The local Stripe of `billing dev` (it keeps the state and
		// validates at stripe-mock).
		os.Setenv("STRIPE_SECRET_KEY", "sk_test_localstripe")
		setDefault("STRIPE_API_BASE", "http://127.0.0.1:"+getenv("PORT", "54321")+localstripe.Prefix)
	}
}

// opsDeps loads the configuration needs asks for and opens what it names.
// Logs go to stderr at warn level unless LOG_LEVEL says otherwise.
func opsDeps(ctx context.Context, needs config.Need, stderr io.Writer) (*function.Deps, error) {
	cfg, err := config.FromEnv(needs)
	if err != nil {
		return nil, withDevHint(err)
	}
	level := slog.LevelWarn
	if l := os.Getenv("LOG_LEVEL"); l != "" {
		_ = level.UnmarshalText([]byte(strings.ToUpper(l)))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// Handlers log through httpkit.Logger, which falls back to the default.
	slog.SetDefault(log)
	deps, err := function.NewDeps(ctx, cfg, log)
	if err != nil {
		return nil, withDevHint(err)
	}
	return deps, nil
}

// withDevHint adds to an operator command's configuration error that the
// local stack needs -dev, when the database is not configured (the usual
// cause: the command was run next to `make dev` without -dev).
func withDevHint(err error) error {
	if os.Getenv("DATABASE_URL") != "" || os.Getenv("SUPABASE_SERVICE_ROLE_KEY") != "" {
		return err
	}
	return fmt.Errorf("%w\n(against the local stack of `make dev`, add -dev: it reads .data/dev.env and uses its PostgreSQL and local Stripe)", err)
}

// parseWithPositional parses fs over args where positional arguments may
// come before or between flags ("status <user> -json").
func parseWithPositional(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// listFlag is a repeatable, comma-separated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}
