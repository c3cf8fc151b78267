package main

import (
	"context"
	"os"

	"billing/internal/devstack"
)

func runTestenv(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	code, err := devstack.RunTests(ctx, getenv("BILLING_BIN_DIR", ".bin"), args, os.Stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		return exitCode(code)
	}
	return nil
}
