package loaddriver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"billing/internal/loaddriver"
	"billing/internal/testdb"
	"billing/shared/auth"
)

const (
	jwtSecret     = "loaddriver-jwt-secret-with-at-least-32-chars"
	webhookSecret = "whsec_test_secret" // the secret the peers' fixture was signed with
)

// stack is the two function servers under load, on one test database.
type stack struct {
	db                *testdb.DB
	checkURL, hook    string
	checkPID, hookPID int
	users             []string
	tokens            []string
	tmpl              *loaddriver.EventTemplate
	// next is the first Stripe-clock second no event of the stack has
	// used yet: a later batch (a benchmark's second count) starts there, so
	// that its events are newer than what the earlier batches stored.
	next time.Time
}

// newStack builds check-subscription and handle-stripe-webhook, seeds
// users paying users (a linked customer and an active subscription each),
// and starts both binaries against the database.
func newStack(t testing.TB, users int) *stack {
	t.Helper()
	db := testdb.New(t)
	s := &stack{db: db}
	ctx := context.Background()
	rows, err := db.Pool.Query(ctx, `insert into auth.users (email)
		select 'load' || n || '@example.com' from generate_series(1, $1) n returning id::text`, users)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		s.users = append(s.users, id)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for i, u := range s.users {
		db.MustExec(t, `update public.profiles set stripe_customer_id = $2 where id = $1`, u, customerOf(i))
		tok, err := auth.Mint(jwtSecret, auth.MintClaims{UserID: u, Email: fmt.Sprintf("load%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		s.tokens = append(s.tokens, tok)
	}
	if s.tmpl, err = loaddriver.LoadEventTemplate("testdata/customer.subscription.updated.json"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	for i := range s.users {
		s.seedSubscription(t, i, now)
	}
	bin := build(t)
	base, pid := start(t, filepath.Join(bin, "check-subscription"), db.URL)
	s.checkURL, s.checkPID = base+"/functions/v1/check-subscription", pid
	base, pid = start(t, filepath.Join(bin, "handle-stripe-webhook"), db.URL)
	s.hook, s.hookPID = base+"/functions/v1/handle-stripe-webhook", pid
	return s
}

func customerOf(i int) string { return fmt.Sprintf("cus_load_%d", i) }
func subOf(i int) string      { return fmt.Sprintf("sub_load_%d", i) }

// seedSubscription inserts user i's active subscription, stored two hours
// before now, so that check-subscription has a paid user and every event
// the webhook load delivers later (stamped from an hour before its own
// start) applies as newer. (Stored one hour before, a load started within
// the second of the seeding tied with it: the webhook then fetched the
// subscription from stripe-mock, whose fixture price is unknown.)
func (s *stack) seedSubscription(t testing.TB, i int, now time.Time) {
	s.db.MustExec(t, `insert into public.subscriptions (id, user_id, customer_id, status, price_id, plan,
		current_period_start, current_period_end, cancel_at_period_end, stripe_created, state_at)
		values ($1, $2, $3, 'active', $4, 'standard', $5::timestamptz, $6::timestamptz, false, $5::timestamptz, $5::timestamptz - interval '2 hours')`,
		subOf(i), s.users[i], customerOf(i), loaddriver.FixturePrice, now, now.Add(30*24*time.Hour))
}

// build compiles the two functions once into a temporary folder.
func build(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/", "../../functions/check-subscription", "../../functions/handle-stripe-webhook")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	return dir
}

// start runs bin on a free port and waits for its first answer; it
// returns the server's base URL and process ID.
func start(t testing.TB, bin, dbURL string) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+port, "LOG_LEVEL=error", "DATABASE_URL="+dbURL,
		"SUPABASE_JWT_SECRET="+jwtSecret, "STRIPE_MODE=test", "STRIPE_SECRET_KEY=sk_test_loaddriver",
		"STRIPE_API_BASE="+os.Getenv("TEST_STRIPE_MOCK_URL"), "STRIPE_WEBHOOK_SECRET="+webhookSecret,
		"SITE_URL=http://localhost:5173", "STRIPE_STANDARD_PRICE_ID_TEST="+loaddriver.FixturePrice,
		"STRIPE_PREMIUM_PRICE_ID_TEST=price_load_premium")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(base + "/functions/v1/")
		if err == nil {
			res.Body.Close()
			return base, cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within 10 s", bin)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkLoad reads check-subscription as the stack's users, round robin,
// and fails an answer that is not the paid plan.
func (s *stack) checkLoad(clients int, d time.Duration) loaddriver.Load {
	return loaddriver.Load{Clients: clients, Duration: d,
		Next: func(i int) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, s.checkURL, nil)
			req.Header.Set("Authorization", "Bearer "+s.tokens[i%len(s.tokens)])
			return req
		},
		Check: func(res *http.Response, body []byte) error {
			if res.StatusCode != 200 || !bytes.Contains(body, []byte(`"plan":"standard"`)) {
				return fmt.Errorf("HTTP %d: %.200s", res.StatusCode, body)
			}
			return nil
		}}
}

// events builds n signed fixture events spread over the stack's users:
// the k-th event of a user is k seconds later in Stripe's clock than its
// previous one, so each applies as new and none needs a fetch, also after
// an earlier batch of the same stack.
func (s *stack) events(n int, prefix string) [][2]string {
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	if base.Before(s.next) {
		base = s.next
	}
	s.next = base.Add(time.Duration((n+len(s.users)-1)/len(s.users)) * time.Second)
	out := make([][2]string, n)
	for e := range n {
		u := e % len(s.users)
		body := s.tmpl.Event(fmt.Sprintf("evt_%s_%d", prefix, e), subOf(u), customerOf(u),
			base.Add(time.Duration(e/len(s.users))*time.Second), base, base.Add(30*24*time.Hour))
		out[e] = [2]string{string(body), loaddriver.Sign(body, webhookSecret, time.Now())}
	}
	return out
}

// hookLoad delivers events (each once, in order of i) and checks every
// answer is a 200 with the wanted status.
func (s *stack) hookLoad(clients int, events [][2]string, want string) loaddriver.Load {
	return loaddriver.Load{Clients: clients,
		Next: func(i int) *http.Request {
			if i >= len(events) {
				return nil
			}
			req, _ := http.NewRequest(http.MethodPost, s.hook, bytes.NewReader([]byte(events[i][0])))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Stripe-Signature", events[i][1])
			return req
		},
		Check: func(res *http.Response, body []byte) error {
			var out struct{ Status string }
			if res.StatusCode != 200 || json.Unmarshal(body, &out) != nil || out.Status != want {
				return fmt.Errorf("HTTP %d: %.200s", res.StatusCode, body)
			}
			return nil
		}}
}

func (s *stack) count(t testing.TB, sql string) int {
	var n int
	if err := s.db.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLoadDriver runs each load briefly and checks what the driver counts
// against the database: every fresh event applied exactly once, every
// duplicate answered as one, every check-subscription answer the paid plan.
func TestLoadDriver(t *testing.T) {
	s := newStack(t, 50)
	ctx := context.Background()
	check := loaddriver.Run(ctx, s.checkLoad(8, 500*time.Millisecond))
	if check.Requests == 0 || check.Errors != 0 {
		t.Fatalf("check-subscription: %d requests, %d errors (first: %v)", check.Requests, check.Errors, check.FirstError)
	}
	evs := s.events(400, "t")
	fresh := loaddriver.Run(ctx, s.hookLoad(16, evs, "processed"))
	if fresh.Requests != len(evs) || fresh.Errors != 0 {
		t.Fatalf("fresh: %d of %d answered, %d errors (first: %v)", fresh.Requests, len(evs), fresh.Errors, fresh.FirstError)
	}
	dups := loaddriver.Run(ctx, s.hookLoad(16, evs, "duplicate"))
	if dups.Requests != len(evs) || dups.Errors != 0 {
		t.Fatalf("duplicates: %d of %d answered, %d errors (first: %v)", dups.Requests, len(evs), dups.Errors, dups.FirstError)
	}
	if n := s.count(t, `select count(*) from public.stripe_events where id like 'evt_t_%' and status = 'processed'`); n != len(evs) {
		t.Fatalf("%d events recorded as processed, %d delivered", n, len(evs))
	}
	if p50, p99 := fresh.Percentile(0.5), fresh.Percentile(0.99); p50 <= 0 || p99 < p50 {
		t.Fatalf("percentiles out of order: p50 %v, p99 %v", p50, p99)
	}
}

// BenchmarkLoad is the load driver: check-subscription for 1,000 paying
// users and the webhook with fresh events and their duplicates, 16 clients
// each, against the real binaries and PostgreSQL (LOAD_DURATION per load,
// default 5 s). Each load is a sub-benchmark reporting req/s, p50, p99 and
// p99.9 in ms, and the CPU time one request cost the server, PostgreSQL
// and the driver (µs, from /proc); it also prints one table.
func BenchmarkLoad(b *testing.B) {
	s := newStack(b, 1000)
	d := 5 * time.Second
	if v, err := time.ParseDuration(os.Getenv("LOAD_DURATION")); err == nil {
		d = v
	}
	var rows []loaddriver.Summary
	var evs [][2]string
	run := func(name string, pid int, load func() loaddriver.Load) {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				// The load (for the webhook, its signed events) is built
				// before the CPU count starts: it is not the driver's
				// cost per request.
				l := load()
				before, err := loaddriver.ReadCPU(pid)
				if err != nil {
					b.Fatal(err)
				}
				r := loaddriver.Run(context.Background(), l)
				after, err := loaddriver.ReadCPU(pid)
				if err != nil {
					b.Fatal(err)
				}
				if r.Errors > 0 {
					b.Errorf("%s: %d errors (first: %v)", name, r.Errors, r.FirstError)
				}
				sum, err := loaddriver.Summarize(name, r)
				if err != nil {
					b.Fatal(name, err)
				}
				sum.CPU = after.Sub(before)
				rows = append(rows, sum)
				perReq := func(x time.Duration) float64 { return float64(x.Microseconds()) / float64(r.Requests) }
				b.ReportMetric(sum.PerSecond, "req/s")
				b.ReportMetric(float64(sum.P50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(sum.P99.Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(sum.P999.Microseconds())/1000, "p99.9-ms")
				b.ReportMetric(perReq(sum.CPU.Server), "server-cpu-us/req")
				b.ReportMetric(perReq(sum.CPU.Postgres), "postgres-cpu-us/req")
				b.ReportMetric(perReq(sum.CPU.Driver), "driver-cpu-us/req")
				b.ReportMetric(0, "ns/op")
			}
		})
	}
	run("check-subscription", s.checkPID, func() loaddriver.Load { return s.checkLoad(16, d) })
	run("check-subscription-net-http-client", s.checkPID, func() loaddriver.Load {
		l := s.checkLoad(16, d)
		l.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 32, MaxIdleConnsPerHost: 32, IdleConnTimeout: time.Minute}}
		return l
	})
	run("webhook-fresh", s.hookPID, func() loaddriver.Load {
		evs = s.events(int(2500*d.Seconds()), fmt.Sprintf("b%d", len(rows)))
		return s.hookLoad(16, evs, "processed")
	})
	run("webhook-duplicates", s.hookPID, func() loaddriver.Load { return s.hookLoad(16, evs, "duplicate") })
	fmt.Print(loaddriver.Table(rows))
}
