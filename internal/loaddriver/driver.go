// Package loaddriver drives HTTP load against the real function servers and
// reports what a user of them sees: requests per second, latency
// percentiles (p50, p99, p99.9) and errors. Its benchmark starts the
// check-subscription and handle-stripe-webhook binaries against a real
// PostgreSQL (the one `testenv` starts) and drives them with parallel
// keep-alive clients; `make bench` runs it with the other benchmarks and
// prints one table (see Table).
package loaddriver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load is one load run: Clients goroutines send the requests Next builds,
// each waiting for its answer before sending the next, until Duration has
// passed or Next answers nil for every client.
type Load struct {
	// Clients is the number of concurrent senders (default 16).
	Clients int
	// Duration bounds the run; 0 runs until Next is exhausted.
	Duration time.Duration
	// Next builds the i-th request (i counts from 0 across all clients);
	// nil ends the sender that asked.
	Next func(i int) *http.Request
	// Check judges an answer; nil accepts every 2xx. The body is read and
	// given to Check.
	Check func(res *http.Response, body []byte) error
	// Client sends the requests; nil gives each sender its own lean
	// keep-alive HTTP/1.1 connection (see conn), which costs the shared
	// cores less than net/http's Transport.
	Client *http.Client
}

// Result is what a run measured.
type Result struct {
	// Requests is how many requests were answered; Errors how many of
	// them failed Check or the transport.
	Requests, Errors int
	// FirstError is the first failure seen, for the report.
	FirstError error
	// Elapsed is the wall time of the run.
	Elapsed time.Duration
	// Latencies are the answered requests' round trips, sorted.
	Latencies []time.Duration
}

// PerSecond is Requests over Elapsed.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Percentile returns the latency at or below which a fraction q (0..1) of
// the requests were answered (nearest rank); 0 without requests.
func (r Result) Percentile(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	rank := int(q*float64(n)+0.999999999) - 1
	return r.Latencies[min(max(rank, 0), n-1)]
}

// Run drives l and returns what it measured. It stops early when ctx ends
// (then the requests in flight are cancelled).
func Run(ctx context.Context, l Load) Result {
	if l.Clients <= 0 {
		l.Clients = 16
	}
	client := l.Client
	// The duration stops new requests; requests in flight are answered
	// (cancelling them would count a client disconnect as the server's).
	var stopAt time.Time
	if l.Duration > 0 {
		stopAt = time.Now().Add(l.Duration)
	}
	var (
		seq      atomic.Int64
		mu       sync.Mutex
		res      Result
		wg       sync.WaitGroup
		perLats  = make([][]time.Duration, l.Clients)
		perErrs  = make([]int, l.Clients)
		firstErr error
	)
	start := time.Now()
	for c := range l.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lats := make([]time.Duration, 0, 4096)
			do := func(req *http.Request) (*http.Response, []byte, error) { return httpDo(client, req) }
			if client == nil {
				c := &conn{ctx: ctx, timeout: 30 * time.Second}
				defer c.close()
				do = c.roundTrip
			}
			for ctx.Err() == nil && (stopAt.IsZero() || time.Now().Before(stopAt)) {
				req := l.Next(int(seq.Add(1) - 1))
				if req == nil {
					break
				}
				t0 := time.Now()
				err := send(do, req.WithContext(ctx), l.Check)
				d := time.Since(t0)
				if ctx.Err() != nil && err != nil {
					break // the run ended during this request: not an answer
				}
				lats = append(lats, d)
				if err != nil {
					perErrs[c]++
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
			perLats[c] = lats
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	for c := range l.Clients {
		res.Latencies = append(res.Latencies, perLats[c]...)
		res.Errors += perErrs[c]
	}
	res.Requests = len(res.Latencies)
	res.FirstError = firstErr
	slices.Sort(res.Latencies)
	return res
}

// send makes one request with do and judges its answer.
func send(do func(*http.Request) (*http.Response, []byte, error), req *http.Request, check func(*http.Response, []byte) error) error {
	res, body, err := do(req)
	if err != nil {
		return err
	}
	if check != nil {
		return check(res, body)
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %.200s", res.StatusCode, body)
	}
	return nil
}

// httpDo sends req with a net/http client and reads the whole answer.
func httpDo(client *http.Client, req *http.Request) (*http.Response, []byte, error) {
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res, body, err
}

// ErrNoRequests is returned by Summary for a run that answered nothing.
var ErrNoRequests = errors.New("loaddriver: no request was answered")

// Summary is one row of the report.
type Summary struct {
	Name                 string
	Requests, Errors     int
	PerSecond            float64
	P50, P99, P999       time.Duration
	ExtraName, ExtraText string
	// CPU is what the run cost each group of processes (ReadCPU), zero
	// when not measured.
	CPU CPUTimes
}

// Summarize turns a Result into a report row named name.
func Summarize(name string, r Result) (Summary, error) {
	s := Summary{Name: name, Requests: r.Requests, Errors: r.Errors, PerSecond: r.PerSecond(),
		P50: r.Percentile(0.50), P99: r.Percentile(0.99), P999: r.Percentile(0.999)}
	if r.Requests == 0 {
		return s, ErrNoRequests
	}
	return s, nil
}

// Table renders rows as a fixed-width text table.
func Table(rows []Summary) string {
	out := fmt.Sprintf("%-24s %9s %7s %10s %9s %9s %9s %24s\n", "load", "requests", "errors", "req/s", "p50", "p99", "p99.9",
		"CPU us/req srv/pg/drv")
	for _, r := range rows {
		cpu := "-"
		if r.Requests > 0 && r.CPU != (CPUTimes{}) {
			per := func(d time.Duration) int64 { return d.Microseconds() / int64(r.Requests) }
			cpu = fmt.Sprintf("%d/%d/%d", per(r.CPU.Server), per(r.CPU.Postgres), per(r.CPU.Driver))
		}
		out += fmt.Sprintf("%-24s %9d %7d %10.0f %9s %9s %9s %24s\n", r.Name, r.Requests, r.Errors, r.PerSecond,
			ms(r.P50), ms(r.P99), ms(r.P999), cpu)
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
