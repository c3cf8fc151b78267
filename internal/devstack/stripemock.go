package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// StripeMockVersion is the pinned stripe-mock release. v0.180.0 carries
// the OpenAPI spec of Stripe API version 2023-10-16, the version stripe-go
// v76 is built for.
const StripeMockVersion = "v0.180.0"

// StripeMock is a stripe-mock process this process started.
type StripeMock struct {
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// EnsureStripeMock returns the path of the pinned stripe-mock binary in
// binDir, installing it with `go install` when it is missing.
func EnsureStripeMock(ctx context.Context, binDir string, log io.Writer) (string, error) {
	path := filepath.Join(binDir, "stripe-mock")
	stamp := path + "." + StripeMockVersion
	if isExec(path) {
		if _, err := os.Stat(stamp); err == nil {
			return path, nil
		}
	}
	abs, err := filepath.Abs(binDir)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(log, "devstack: installing stripe-mock %s into %s ...\n", StripeMockVersion, binDir)
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/stripe/stripe-mock@"+StripeMockVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+abs)
	cmd.Dir = os.TempDir()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install stripe-mock: %w", err)
	}
	if err := os.WriteFile(stamp, nil, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// StartStripeMock runs stripe-mock from binDir on 127.0.0.1:port (0 picks
// a free port) and waits until it answers.
func StartStripeMock(ctx context.Context, binDir string, port int, log io.Writer) (*StripeMock, error) {
	path, err := EnsureStripeMock(ctx, binDir, log)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// stripe-mock also serves HTTPS, on :12112 unless told otherwise; give
	// it a port of its own so parallel instances do not collide.
	tlsPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "-http-addr", addr, "-https-addr", fmt.Sprintf("127.0.0.1:%d", tlsPort))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	m := &StripeMock{URL: "http://" + addr, cmd: cmd, exited: exited}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+"/v1/customers", nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			return m, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("stripe-mock exited: %s", lastLines(out.String(), 5))
		default:
		}
		if time.Now().After(deadline) {
			m.Stop()
			return nil, errors.New("stripe-mock did not start: " + lastLines(out.String(), 5))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends the stripe-mock process.
func (m *StripeMock) Stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
}
