// Package coldstart measures each function binary from process start to its
// first HTTP response, and its peak memory, the figures a Lambda cold start
// and its memory setting depend on.
package coldstart

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/auth"
)

const secret = "coldstart-jwt-secret-with-at-least-32-chars"

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

// buildAll builds every function in one go build (which builds them in
// parallel) and returns the folder with one binary per function name. It
// uses the default flags, so it reuses the packages the test run already
// compiled; the Lambda flags only strip symbols, which does not change
// start-up.
func buildAll(t testing.TB) string {
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/", "../../functions/...")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	return dir
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
		"STRIPE_WEBHOOK_SECRET=whsec_coldstart", "SITE_URL=http://localhost:5173",
		"STRIPE_STANDARD_PRICE_ID_TEST=price_cs_standard", "STRIPE_PREMIUM_PRICE_ID_TEST=price_cs_premium",
	)
}

// startOnce starts bin and returns the time until the first response to a
// request with token (any status), and the process's peak RSS in KiB.
func startOnce(t testing.TB, bin, name, dbURL, token string) (time.Duration, int) {
	port := strconv.Itoa(freePort(t))
	url := "http://127.0.0.1:" + port + "/functions/v1/" + name
	cmd := exec.Command(bin)
	cmd.Env = environ(dbURL, port)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
			return time.Since(start), peakRSS(cmd.Process.Pid)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s did not answer within 10 s", name)
		}
		time.Sleep(time.Millisecond)
	}
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
// HTTP response (check-subscription: a 200 that read the database) and the
// peak resident memory.
func BenchmarkColdStart(b *testing.B) {
	db := testdb.New(b)
	user := db.CreateUser(b, "cold@example.com")
	token, err := auth.Mint(secret, auth.MintClaims{UserID: user, Email: "cold@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	dir := buildAll(b)
	for _, name := range functionNames(b) {
		bin := filepath.Join(dir, name)
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			rss := 0
			for i := 0; i < b.N; i++ {
				d, r := startOnce(b, bin, name, db.URL, token)
				total += d
				rss = max(rss, r)
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
			b.ReportMetric(float64(rss), "peak-KiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestEveryFunctionStarts starts each binary once with a complete
// configuration and checks it answers over HTTP at its URL.
func TestEveryFunctionStarts(t *testing.T) {
	db := testdb.New(t)
	dir := buildAll(t)
	for _, name := range functionNames(t) {
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(dir, name)
			d, rss := startOnce(t, bin, name, db.URL, "not-a-token")
			t.Logf("%s: first response after %v, peak RSS %d KiB", name, d, rss)
		})
	}
}
