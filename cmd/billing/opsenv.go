package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"billing/shared/config"
	"billing/shared/function"
)

// The operator commands (reconcile, replay, status, trigger) read the same
// environment as the functions. With -dev they fill what is unset from the
// local stack `billing dev` runs: its secrets in .data/dev.env, its Postgres
// (DEV_DB_PORT, default 54322, database billing) and its stripe-mock
// (DEV_STRIPE_MOCK_PORT, default 12111).

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
		os.Setenv("STRIPE_SECRET_KEY", "sk_test_stripemock")
		setDefault("STRIPE_API_BASE", "http://127.0.0.1:"+getenv("DEV_STRIPE_MOCK_PORT", "12111"))
	}
}

// opsDeps loads the configuration needs asks for and opens what it names.
// Logs go to stderr at warn level unless LOG_LEVEL says otherwise.
func opsDeps(ctx context.Context, needs config.Need, stderr io.Writer) (*function.Deps, error) {
	cfg, err := config.FromEnv(needs)
	if err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if l := os.Getenv("LOG_LEVEL"); l != "" {
		_ = level.UnmarshalText([]byte(strings.ToUpper(l)))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// Handlers log through httpkit.Logger, which falls back to the default.
	slog.SetDefault(log)
	return function.NewDeps(ctx, cfg, log)
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
