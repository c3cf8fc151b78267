package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"billing/internal/ops"
	"billing/shared/auth"
	"billing/shared/config"
)

func runStatus(ctx context.Context, args []string) error {
	return statusCmd(ctx, args, os.Stdout, os.Stderr)
}

// statusCmd is `billing status <user-uuid> [-json] [-dev]`: the access body
// check-subscription answers the user now, and the history behind it
// (subscriptions, recent Stripe events, emails).
func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print as JSON")
	dev := devFlag(fs)
	pos, err := parseWithPositional(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || !auth.IsUUID(pos[0]) {
		return fmt.Errorf("usage: billing status <user-uuid> [-json] [-dev]")
	}
	if *dev {
		applyDevEnv()
	}
	deps, err := opsDeps(ctx, config.NeedDatabase|config.NeedPlans, stderr)
	if err != nil {
		return err
	}
	defer deps.Close()
	st, err := ops.Status(ctx, deps.Store, deps.Catalog, strings.ToLower(pos[0]), time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return st.WriteText(stdout)
}
