package loaddriver

import (
	"strings"
	"testing"
)

const sampleOutput = `goos: linux
BenchmarkPeerFixture-2   	   57949	     6500 ns/op	 616.46 MB/s	    153846 events/s	    1984 B/op	      9 allocs/op
BenchmarkPeerFixture-2   	   57949	     7200 ns/op	 556.46 MB/s	    138888 events/s	    1984 B/op	      9 allocs/op
BenchmarkLoad/check-subscription-2         	       1	        71.16 driver-cpu-us/req	         3.257 p50-ms	         8.373 p99-ms	        14.15 p99.9-ms	       164.8 postgres-cpu-us/req	      4590 req/s	       153.2 server-cpu-us/req
BenchmarkColdStart/direct/handle-stripe-webhook-2       	      10	        7.5 ms/start	     15960 peak-KiB
node v20.20.2 constructEvent: 53437 events/s, 18.71 us/event
node v20.20.2 constructEvent: 52429 events/s, 19.07 us/event
PASS
`

func TestReport(t *testing.T) {
	res, err := ParseResults(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Metrics["BenchmarkPeerFixture"]["events/s"]; got != 138888 {
		t.Errorf("last run wins: events/s = %v, want 138888", got)
	}
	if got := res.Peers["node v20.20.2"]; got != 53437 {
		t.Errorf("peer = %v, want the best run 53437", got)
	}
	// Compare with runs of spaces collapsed: the columns' widths are not
	// the point.
	out := strings.Join(strings.Fields(strings.ReplaceAll(Report(res), "\n", " | ")), " ")
	for _, want := range []string{
		"webhook verify + parse + plan, 4 KB fixture, events/s 138888 >= 150000 NOT MET",
		"check-subscription req/s (load driver, 16 clients) 4590 >= 12000 NOT MET",
		"check-subscription p99 ms 8.37 < 5 NOT MET",
		"webhook start to 200 on the signed event, direct, ms 7.50 < 8 met",
		"webhook peak RSS, KiB 15960 < 12288 NOT MET",
		"check-subscription start to 200, via pooler, ms not run < 8",
		"peer: node v20.20.2 constructEvent events/s (one core) 53437 ours 2.6x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
