package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// RunTests starts a throwaway PostgreSQL (in a temporary folder, durability
// off) and stripe-mock, runs command with TEST_DATABASE_URL and
// TEST_STRIPE_MOCK_URL in its environment, then stops both and removes the
// folder, whatever the command did. It returns the command's exit code.
func RunTests(ctx context.Context, binDir string, command []string, log io.Writer) (int, error) {
	if len(command) == 0 {
		return 2, errors.New("testenv: no command given")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	tmp, err := os.MkdirTemp("", "billing-test-pg-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 1, err
	}
	pg, err := StartPostgres(ctx, tmp+"/data", 0, true, log)
	if err != nil {
		return 1, err
	}
	defer func() {
		if err := pg.Stop(); err != nil {
			fmt.Fprintln(log, "testenv: stopping postgres:", err)
		}
	}()
	fmt.Fprintf(log, "testenv: postgres on 127.0.0.1:%d\n", pg.Port)

	sm, err := StartStripeMock(ctx, binDir, 0, log)
	if err != nil {
		return 1, err
	}
	defer sm.Stop()
	fmt.Fprintf(log, "testenv: stripe-mock %s on %s\n", StripeMockVersion, sm.URL)

	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = append(os.Environ(),
		"TEST_DATABASE_URL="+pg.URL("postgres"),
		"TEST_STRIPE_MOCK_URL="+sm.URL,
	)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}
