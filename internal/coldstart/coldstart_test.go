// Package coldstart measures each function binary from process start to its
// first HTTP response, and its peak memory, the figures a Lambda cold start
// and its memory setting depend on.
package coldstart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"billing/internal/loaddriver"
	"billing/internal/testdb"
	"billing/shared/auth"
)

const (
	secret        = "coldstart-jwt-secret-with-at-least-32-chars"
	webhookSecret = "whsec_coldstart"
)

func functionNames(t testing.TB) []string {
	entries, err := os.ReadDir("../../functions")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// deployFlags are the Makefile's LAMBDA_FLAGS, the flags every deployed
// bootstrap is built with (TestDeployFlagsAreTheMakefiles keeps them
// equal). lambda.norpc leaves aws-lambda-go's RPC mode out, and with it
// net/rpc and encoding/gob, whose start-up (net/rpc parses an HTML
// template at init) a deployed function never pays: measured with the
// default flags instead, a start read 1.9 MiB (check-subscription) to
// 3.5 MiB (the webhook) more peak RSS than the deployed binary has.
var deployFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w"}

// buildAll builds every function in one go build (which builds them in
// parallel) with flags, and returns the folder with one binary per
// function name.
func buildAll(t testing.TB, flags ...string) string {
	dir := t.TempDir()
	args := append(append([]string{"build"}, flags...), "-o", dir+"/", "../../functions/...")
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	return dir
}

// TestDeployFlagsAreTheMakefiles checks that the benchmark builds what is
// deployed.
func TestDeployFlagsAreTheMakefiles(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	f := deployFlags
	want := fmt.Sprintf("LAMBDA_FLAGS := %s %s %s %s %q", f[0], f[1], f[2], f[3], f[4])
	if len(f) != 5 || !strings.Contains(string(mk), "\n"+want+"\n") {
		t.Fatalf("the Makefile has no line %q: make deployFlags its LAMBDA_FLAGS", want)
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func environ(dbURL, port string) []string {
	mock := os.Getenv("TEST_STRIPE_MOCK_URL")
	return append(os.Environ(),
		"PORT="+port, "LOG_LEVEL=error", "DATABASE_URL="+dbURL, "SUPABASE_JWT_SECRET="+secret,
		"STRIPE_MODE=test", "STRIPE_SECRET_KEY=sk_test_coldstart", "STRIPE_API_BASE="+mock,
		"STRIPE_WEBHOOK_SECRET="+webhookSecret, "SITE_URL=http://localhost:5173",
		"STRIPE_STANDARD_PRICE_ID_TEST="+loaddriver.FixturePrice, "STRIPE_PREMIUM_PRICE_ID_TEST=price_cs_premium",
	)
}

// request is the first request a start is measured to: what it sends and
// the status it must answer with (0: any).
type request struct {
	method, body string
	header       map[string]string
	want         int
}

// firstRequest is the request each function's start is measured to:
// check-subscription a token's page load (a 200 that read the database),
// the webhook a signed 4 KB event (a 200 that applied it in a database
// transaction), the others a GET (the 405 of a started server).
func firstRequest(t testing.TB, name, token string, n int) request {
	switch name {
	case "check-subscription":
		return request{method: http.MethodGet, header: map[string]string{"Authorization": "Bearer " + token}, want: 200}
	case "handle-stripe-webhook":
		tmpl, err := loaddriver.LoadEventTemplate("../loaddriver/testdata/customer.subscription.updated.json")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		body := tmpl.Event(fmt.Sprintf("evt_cold_%d_%d", now.UnixNano(), n), fmt.Sprintf("sub_cold_%d_%d", now.UnixNano(), n),
			"cus_cold", now, now, now.Add(30*24*time.Hour))
		return request{method: http.MethodPost, body: string(body), want: 200, header: map[string]string{
			"Content-Type": "application/json", "Stripe-Signature": loaddriver.Sign(body, webhookSecret, now)}}
	}
	return request{method: http.MethodGet}
}

// startOnce starts bin and returns the time until the answer to first
// (which must have first.want's status), and the process's peak RSS in KiB.
// It waits for the port to accept a connection (polling every 100 µs),
// then sends the request once on that connection. A start whose port was
// taken between freePort and the process's listen (another test process
// got it) is tried again on a new port.
func startOnce(t testing.TB, bin, name, dbURL string, first request) (time.Duration, int) {
	for attempt := 1; ; attempt++ {
		d, rss, portTaken := tryStart(t, bin, name, dbURL, first)
		if !portTaken {
			return d, rss
		}
		if attempt == 3 {
			t.Fatalf("%s: its port was taken at %d starts in a row", name, attempt)
		}
	}
}

// tryStart is one start of startOnce; portTaken reports a process that
// exited because its port was in use (nothing was measured).
func tryStart(t testing.TB, bin, name, dbURL string, first request) (d time.Duration, rss int, portTaken bool) {
	port := strconv.Itoa(freePort(t))
	addr := "127.0.0.1:" + port
	cmd := exec.Command(bin)
	cmd.Env = environ(dbURL, port)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	var conn net.Conn
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			conn = c
			break
		}
		select {
		case <-exited:
			if strings.Contains(stderr.String(), "address already in use") {
				return 0, 0, true
			}
			t.Fatalf("%s exited before it listened: %.500s", name, stderr.String())
		default:
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s did not listen within 10 s: %.500s", name, stderr.String())
		}
		time.Sleep(100 * time.Microsecond)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			if c := conn; c != nil {
				conn = nil
				return c, nil
			}
			return nil, errors.New("one connection only")
		}}}
	req, _ := http.NewRequest(first.method, "http://"+addr+"/functions/v1/"+name, strings.NewReader(first.body))
	for k, v := range first.header {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	d = time.Since(start)
	if first.want != 0 && res.StatusCode != first.want {
		t.Fatalf("%s answered %d, want %d: %.300s", name, res.StatusCode, first.want, body)
	}
	return d, peakRSS(cmd.Process.Pid), false
}

func peakRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

// BenchmarkColdStart reports, per function, ms from exec to the first
// HTTP response (check-subscription: a 200 that read the database; the
// webhook: a 200 that applied a signed 4 KB event) and the peak resident
// memory: "direct/" connecting straight to PostgreSQL (each start pays for
// a new server backend), and, when PgBouncer is installed, "pooler/"
// through it in transaction mode, the way a Lambda reaches Supabase
// (Supavisor, port 6543), whose server connections are open already
// (one unmeasured start warms them).
func BenchmarkColdStart(b *testing.B) {
	db := testdb.New(b)
	user := db.CreateUser(b, "cold@example.com")
	token, err := auth.Mint(secret, auth.MintClaims{UserID: user, Email: "cold@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	dir := buildAll(b, deployFlags...)
	paths := [][2]string{{"direct", db.URL}}
	if pooled := startPooler(b, db.URL); pooled != "" {
		paths = append(paths, [2]string{"pooler", pooled})
	} else {
		b.Log("pgbouncer is not installed: no pooler/ figures")
	}
	for _, path := range paths {
		for _, name := range functionNames(b) {
			bin := filepath.Join(dir, name)
			b.Run(path[0]+"/"+name, func(b *testing.B) {
				if path[0] == "pooler" {
					startOnce(b, bin, name, path[1], firstRequest(b, name, token, -1))
					b.ResetTimer()
				}
				var total time.Duration
				rss := 0
				for i := 0; i < b.N; i++ {
					d, r := startOnce(b, bin, name, path[1], firstRequest(b, name, token, i))
					total += d
					rss = max(rss, r)
				}
				b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
				b.ReportMetric(float64(rss), "peak-KiB")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// TestEveryFunctionStarts starts each binary once with a complete
// configuration and checks it answers over HTTP at its URL (check-subscription
// and the webhook with a 200 from the database).
func TestEveryFunctionStarts(t *testing.T) {
	db := testdb.New(t)
	user := db.CreateUser(t, "start@example.com")
	token, err := auth.Mint(secret, auth.MintClaims{UserID: user, Email: "start@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// The deployed tags (the RPC mode left out), without -trimpath and
	// stripping, so the packages the test run compiled are reused.
	dir := buildAll(t, deployFlags[:2]...)
	for _, name := range functionNames(t) {
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(dir, name)
			d, rss := startOnce(t, bin, name, db.URL, firstRequest(t, name, token, 0))
			t.Logf("%s: first response after %v, peak RSS %d KiB", name, d, rss)
		})
	}
}
