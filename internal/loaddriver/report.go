package loaddriver

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Budget is one figure of the performance budget (issue 11) and where a
// `make bench` run reports it: the benchmark (a line of `go test -bench`
// output, name without the -N suffix) and its metric.
type Budget struct {
	Figure, Benchmark, Metric string
	// Limit is the budget; AtLeast says whether the figure must reach it
	// (a rate) or stay under it (a time, a size, a count).
	Limit   float64
	AtLeast bool
}

// Budgets are the figures `make bench` reports, in the order printed.
var Budgets = []Budget{
	{"webhook verify + parse + plan, 4 KB fixture, events/s", "BenchmarkPeerFixture", "events/s", 150000, true},
	{"webhook verify + parse + plan, allocations", "BenchmarkPeerFixture", "allocs/op", 0, false},
	{"check-subscription req/s (load driver, 16 clients)", "BenchmarkLoad/check-subscription", "req/s", 12000, true},
	{"check-subscription p99 ms", "BenchmarkLoad/check-subscription", "p99-ms", 5, false},
	{"check-subscription allocations per request (handler)", "BenchmarkCheckSubscriptionHandler/pgx", "allocs/op", 120, false},
	{"webhook fresh events/s (16 senders, applied once)", "BenchmarkLoad/webhook-fresh", "req/s", 2500, true},
	{"webhook duplicates/s", "BenchmarkLoad/webhook-duplicates", "req/s", 0, true},
	{"webhook start to 200 on the signed event, via pooler, ms", "BenchmarkColdStart/pooler/handle-stripe-webhook", "ms/start", 8, false},
	{"webhook start to 200 on the signed event, direct, ms", "BenchmarkColdStart/direct/handle-stripe-webhook", "ms/start", 8, false},
	{"webhook peak RSS, KiB", "BenchmarkColdStart/direct/handle-stripe-webhook", "peak-KiB", 12 * 1024, false},
	{"check-subscription start to 200, via pooler, ms", "BenchmarkColdStart/pooler/check-subscription", "ms/start", 8, false},
	{"check-subscription start to 200, direct, ms", "BenchmarkColdStart/direct/check-subscription", "ms/start", 8, false},
	{"check-subscription peak RSS, KiB", "BenchmarkColdStart/direct/check-subscription", "peak-KiB", 12 * 1024, false},
}

var (
	benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)
	peerLine  = regexp.MustCompile(`^(node \S+|deno \S+) constructEvent: (\d+) events/s`)
)

// Results are the metrics of a `go test -bench` output by benchmark and
// unit (the last run of a benchmark wins), and the peers' events/s by name.
type Results struct {
	Metrics map[string]map[string]float64
	Peers   map[string]float64
	order   []string
}

// ParseResults reads `go test -bench` output and the peers' lines
// (bench/peers prints "node vX constructEvent: N events/s, ...").
func ParseResults(r io.Reader) (*Results, error) {
	res := &Results{Metrics: map[string]map[string]float64{}, Peers: map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := peerLine.FindStringSubmatch(line); m != nil {
			if _, seen := res.Peers[m[1]]; !seen {
				res.order = append(res.order, m[1])
			}
			v, _ := strconv.ParseFloat(m[2], 64)
			res.Peers[m[1]] = max(res.Peers[m[1]], v) // the best of the runs
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		metrics := map[string]float64{}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			metrics[f[i+1]] = v
		}
		res.Metrics[m[1]] = metrics
	}
	return res, sc.Err()
}

// Report renders results as one table: each budget's figure, what the run
// measured, the budget and whether it is met, then the peers beside our
// webhook CPU path.
func Report(res *Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-56s %14s %12s  %s\n", "figure", "measured", "budget", "")
	for _, bu := range Budgets {
		v, ok := res.Metrics[bu.Benchmark][bu.Metric]
		budget, verdict := "-", ""
		if bu.Limit > 0 {
			op := "<"
			if bu.AtLeast {
				op = ">="
			}
			budget = op + " " + number(bu.Limit)
		}
		measured := "not run"
		if ok {
			measured = number(v)
			if bu.Limit > 0 {
				verdict = "met"
				if (bu.AtLeast && v < bu.Limit) || (!bu.AtLeast && v >= bu.Limit) {
					verdict = "NOT MET"
				}
			}
		}
		fmt.Fprintf(&b, "%-56s %14s %12s  %s\n", bu.Figure, measured, budget, verdict)
	}
	ours, ok := res.Metrics["BenchmarkPeerFixture"]["events/s"]
	for _, name := range res.order {
		ratio := "-"
		if ok && res.Peers[name] > 0 {
			ratio = fmt.Sprintf("ours %.1fx", ours/res.Peers[name])
		}
		fmt.Fprintf(&b, "%-56s %14s %12s  %s\n", "peer: "+name+" constructEvent events/s (one core)", number(res.Peers[name]), "", ratio)
	}
	return b.String()
}

func number(v float64) string {
	if v >= 100 || v == float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
