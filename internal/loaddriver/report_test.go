package loaddriver

import (
	"slices"
	"strings"
	"testing"
)

// sampleOutput is shaped like `make bench`'s: BenchmarkPeerFixture first
// on two cores (-2) from `go test ./...`, later again pinned to one core
// (no suffix); the load's sub-benchmarks interleaved by -count.
const sampleOutput = `goos: linux
BenchmarkPeerFixture-2   	   57949	     6500 ns/op	 616.46 MB/s	    163846 events/s	    1984 B/op	      9 allocs/op
BenchmarkPeerFixture-2   	   57949	     6500 ns/op	 616.46 MB/s	    163846 events/s	    1984 B/op	      9 allocs/op
BenchmarkLoad/check-subscription-2         	       1	        71.16 driver-cpu-us/req	         3.257 p50-ms	         8.373 p99-ms	        14.15 p99.9-ms	       164.8 postgres-cpu-us/req	      4590 req/s	       153.2 server-cpu-us/req
BenchmarkLoad/webhook-fresh-2         	       1	        3.1 p99-ms	       1400 req/s
BenchmarkLoad/check-subscription-2         	       1	        71.16 driver-cpu-us/req	         3.257 p50-ms	         4.5 p99-ms	        14.15 p99.9-ms	       164.8 postgres-cpu-us/req	      4790 req/s	       153.2 server-cpu-us/req
BenchmarkColdStart/direct/handle-stripe-webhook-2       	      10	        7.5 ms/start	     15960 peak-KiB
BenchmarkColdStart/direct/handle-stripe-webhook-2       	      10	        7.9 ms/start	     15900 peak-KiB
BenchmarkColdStart/direct/handle-stripe-webhook-2       	      10	        8.2 ms/start	     15990 peak-KiB
BenchmarkPeerFixture   	   57949	     7200 ns/op	 556.46 MB/s	    138888 events/s	    1984 B/op	      9 allocs/op
BenchmarkPeerFixture   	   57949	     7000 ns/op	 556.46 MB/s	    142857 events/s	    1984 B/op	      9 allocs/op
BenchmarkPeerFixture   	   57949	     6900 ns/op	 556.46 MB/s	    144927 events/s	    1984 B/op	      9 allocs/op
node v20.20.2 constructEvent: 53437 events/s, 18.71 us/event
node v20.20.2 constructEvent: 52429 events/s, 19.07 us/event
node v20.20.2 constructEvent: 50000 events/s, 20.00 us/event
PASS
`

func TestParseResults(t *testing.T) {
	res, err := ParseResults(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		bench, metric string
		want          []float64
	}{
		// The pinned runs replace the two-core ones.
		{"BenchmarkPeerFixture", "events/s", []float64{138888, 142857, 144927}},
		// Interleaved runs of a sub-benchmark accumulate.
		{"BenchmarkLoad/check-subscription", "req/s", []float64{4590, 4790}},
		{"BenchmarkLoad/webhook-fresh", "req/s", []float64{1400}},
		{"BenchmarkColdStart/direct/handle-stripe-webhook", "ms/start", []float64{7.5, 7.9, 8.2}},
	} {
		if got := res.Metrics[c.bench][c.metric]; !slices.Equal(got, c.want) {
			t.Errorf("%s %s = %v, want %v", c.bench, c.metric, got, c.want)
		}
	}
	if got := res.Peers["node v20.20.2"]; !slices.Equal(got, []float64{53437, 52429, 50000}) {
		t.Errorf("peer runs = %v", got)
	}
}

func TestReport(t *testing.T) {
	res, err := ParseResults(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	// Compare with runs of spaces collapsed: the columns' widths are not
	// the point.
	out := strings.Join(strings.Fields(strings.ReplaceAll(Report(res), "\n", " | ")), " ")
	for _, want := range []string{
		"webhook verify + parse + plan, 4 KB fixture, events/s 138888 to 144927 >= 150000 NOT MET",
		"webhook verify + parse + plan, allocations 9 -",
		"check-subscription req/s (load driver, 16 clients) 4590 to 4790 >= 12000 NOT MET",
		"check-subscription p99 ms 4.50 to 8.37 < 5 met in 1 of 2",
		"webhook fresh events/s (16 senders, applied once) 1400 >= 2500 NOT MET",
		"webhook start to 200 on the signed event, direct, ms 7.50 to 8.20 < 8 met in 2 of 3",
		"webhook peak RSS, KiB 15900 to 15990 < 12288 NOT MET",
		"check-subscription start to 200, via pooler, ms not run < 8",
		// Medians: 142857 / 52429.
		"peer: node v20.20.2 constructEvent events/s (one core) 50000 to 53437 ours 2.7x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestReportAllRunsMeet(t *testing.T) {
	res, err := ParseResults(strings.NewReader(
		"BenchmarkColdStart/pooler/check-subscription-2 \t 10 \t 6.1 ms/start \t 11000 peak-KiB\n" +
			"BenchmarkColdStart/pooler/check-subscription-2 \t 10 \t 7.9 ms/start \t 11000 peak-KiB\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Join(strings.Fields(Report(res)), " ")
	if want := "check-subscription start to 200, via pooler, ms 6.10 to 7.90 < 8 met"; !strings.Contains(out, want+" check-subscription start to 200, direct") {
		t.Errorf("report lacks %q:\n%s", want, out)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
