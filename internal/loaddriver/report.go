package loaddriver

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
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
	benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)
	peerLine  = regexp.MustCompile(`^(node \S+|deno \S+) constructEvent: (\d+) events/s`)
)

// Results are the metrics of a `go test -bench` output by benchmark and
// unit, one value per run (-count), and the peers' events/s by name, one
// value per run. A benchmark run again under another -N suffix (another
// GOMAXPROCS, as `make bench` reruns BenchmarkPeerFixture pinned to one
// core) starts over: the later configuration is the one reported.
type Results struct {
	Metrics map[string]map[string][]float64
	Peers   map[string][]float64
	order   []string
	suffix  map[string]string
}

// ParseResults reads `go test -bench` output and the peers' lines
// (bench/peers prints "node vX constructEvent: N events/s, ...").
func ParseResults(r io.Reader) (*Results, error) {
	res := &Results{Metrics: map[string]map[string][]float64{}, Peers: map[string][]float64{},
		suffix: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := peerLine.FindStringSubmatch(line); m != nil {
			if _, seen := res.Peers[m[1]]; !seen {
				res.order = append(res.order, m[1])
			}
			v, _ := strconv.ParseFloat(m[2], 64)
			res.Peers[m[1]] = append(res.Peers[m[1]], v)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, suffix := m[1], m[2]
		if old, seen := res.suffix[name]; !seen || old != suffix {
			res.Metrics[name] = map[string][]float64{}
			res.suffix[name] = suffix
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			res.Metrics[name][f[i+1]] = append(res.Metrics[name][f[i+1]], v)
		}
	}
	return res, sc.Err()
}

// Report renders results as one table: each budget's figure, the spread
// of its runs (lowest to highest), the budget and whether it is met by
// every run, by some ("met in k of n") or by none, then the peers beside
// our webhook CPU path (the ratio of the medians).
func Report(res *Results) string {
	var b strings.Builder
	row := func(figure, measured, budget, verdict string) {
		fmt.Fprintf(&b, "%-56s %20s %12s  %s\n", figure, measured, budget, verdict)
	}
	row("figure", "measured", "budget", "")
	for _, bu := range Budgets {
		runs := res.Metrics[bu.Benchmark][bu.Metric]
		budget, verdict := "-", ""
		if bu.Limit > 0 {
			op := "<"
			if bu.AtLeast {
				op = ">="
			}
			budget = op + " " + number(bu.Limit)
		}
		measured := "not run"
		if len(runs) > 0 {
			measured = spread(runs)
			if bu.Limit > 0 {
				met := 0
				for _, v := range runs {
					if (bu.AtLeast && v >= bu.Limit) || (!bu.AtLeast && v < bu.Limit) {
						met++
					}
				}
				switch met {
				case len(runs):
					verdict = "met"
				case 0:
					verdict = "NOT MET"
				default:
					verdict = fmt.Sprintf("met in %d of %d", met, len(runs))
				}
			}
		}
		row(bu.Figure, measured, budget, verdict)
	}
	ours := res.Metrics["BenchmarkPeerFixture"]["events/s"]
	for _, name := range res.order {
		ratio := "-"
		if len(ours) > 0 && median(res.Peers[name]) > 0 {
			ratio = fmt.Sprintf("ours %.1fx", median(ours)/median(res.Peers[name]))
		}
		row("peer: "+name+" constructEvent events/s (one core)", spread(res.Peers[name]), "", ratio)
	}
	return b.String()
}

// spread is "v" for one run, "lowest to highest" for more.
func spread(runs []float64) string {
	lo, hi := slices.Min(runs), slices.Max(runs)
	if lo == hi {
		return number(lo)
	}
	return number(lo) + " to " + number(hi)
}

// median is the middle run (the mean of the two middle ones for an even
// count).
func median(runs []float64) float64 {
	if len(runs) == 0 {
		return 0
	}
	v := slices.Clone(runs)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func number(v float64) string {
	if v >= 100 || v == float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
