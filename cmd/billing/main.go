// Command billing is the developer's and operator's tool for the billing
// functions: run the local stack, serve, migrate, mint dev tokens, and run
// the tests against throwaway services.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"dev", "start Postgres, stripe-mock, migrations and every function on one port", runDev},
		{"serve", "serve every function on PORT, configured only from the environment", runServe},
		{"serve-wasm", "serve-wasm [-dir dist/wasm]: serve, with every function as its wasi:http component under jco serve", runServeWasm},
		{"migrate", "apply migrations/ to DATABASE_URL", runMigrate},
		{"token", "mint a dev access token (and create the user locally): token [-user UUID] [-email E] [-ttl 1h] [-create=false]", runToken},
		{"testenv", "testenv -- CMD...: run CMD with a throwaway Postgres and stripe-mock", runTestenv},
		{"pay", "pay [-user UUID] [-session cs_..]: the local Stripe of `make dev` pays a Checkout Session (and sends its webhook events)", runPay},
		{"advance", "advance [-user UUID] [-subscription sub_..] [-fail]: the local Stripe ends a subscription's period (renews, fails, or ends a cancel)", runAdvance},
		{"trigger", "trigger <event type> [-user UUID] [-plan P] [-url URL]: send a signed sample Stripe event", runTrigger},
		{"reconcile", "reconcile [-apply] [-user UUID]: compare Stripe with the database (dry run), -apply to fix", runReconcile},
		{"replay", "replay [-id evt_..] [-type T -since T -until T] [-failed]: re-apply stored Stripe events", runReplay},
		{"status", "status <user-uuid>: a user's access and billing history", runStatus},
		{"bench-report", "bench-report [FILE...]: the table of `make bench` (budgets, measured, peers) from benchmark output", runBenchReport},
	}
}

func main() {
	os.Exit(runMain(context.Background(), os.Args[1:], os.Stderr))
}

// runMain runs the command args name and returns the exit status: 0 for
// help, 2 for a missing or unknown command.
func runMain(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		usage(stderr)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if err := c.run(ctx, args[1:]); err != nil {
				if code, ok := err.(exitCode); ok {
					return int(code)
				}
				if errors.Is(err, flag.ErrHelp) {
					return 0
				}
				fmt.Fprintln(stderr, "billing "+c.name+":", err)
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "billing: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: billing <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nOperator commands (status, reconcile, replay) read the environment; add -dev to use the local stack of `make dev`.")
}

// exitCode makes main exit with a status without printing anything.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
