// Command billing is the developer's and operator's tool for the billing
// functions: run the local stack, serve, migrate, mint dev tokens, and run
// the tests against throwaway services.
package main

import (
	"context"
	"fmt"
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
		{"token", "mint a dev access token: token [-user UUID] [-email E] [-ttl 1h]", runToken},
		{"testenv", "testenv -- CMD...: run CMD with a throwaway Postgres and stripe-mock", runTestenv},
		{"trigger", "trigger <event type> [-user UUID] [-plan P] [-url URL]: send a signed sample Stripe event", runTrigger},
		{"reconcile", "reconcile [-apply] [-user UUID]: compare Stripe with the database (dry run), -apply to fix", runReconcile},
		{"replay", "replay [-id evt_..] [-type T -since T -until T] [-failed]: re-apply stored Stripe events", runReplay},
		{"status", "status <user-uuid>: a user's access and billing history", runStatus},
	}
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "help" || os.Args[1] == "--help" {
		usage()
		os.Exit(2)
	}
	for _, c := range commands() {
		if c.name == os.Args[1] {
			if err := c.run(context.Background(), os.Args[2:]); err != nil {
				if code, ok := err.(exitCode); ok {
					os.Exit(int(code))
				}
				fmt.Fprintln(os.Stderr, "billing "+c.name+":", err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "billing: unknown command %q\n", os.Args[1])
	usage()
	os.Exit(2)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: billing <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", c.name, c.usage)
	}
}

// exitCode makes main exit with a status without printing anything.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
