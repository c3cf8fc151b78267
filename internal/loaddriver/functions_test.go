package loaddriver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"billing/internal/loaddriver"
)

// BenchmarkApplyFunctionTimes is where a fresh webhook event's database
// time goes: PostgreSQL's own per-function timing (track_functions = all,
// pg_stat_user_functions) over 6,000 fresh events from 16 senders, printed
// per SQL function as calls, total and self milliseconds per call. Total
// includes the functions it calls; both are wall time in the backend
// (waits on locks and for a CPU included). A backend reports its counts
// at most once a second, so calls is what had been reported when the load
// ended (most of the events); the per-call times are what matters.
func BenchmarkApplyFunctionTimes(b *testing.B) {
	s := newStack(b, 1000)
	ctx := context.Background()
	name := s.db.URL[strings.LastIndex(s.db.URL, "/")+1:]
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	// The servers' pools connect at their first request, after this.
	s.db.MustExec(b, `alter database "`+name+`" set track_functions = 'all'`)
	for i := range b.N {
		s.db.MustExec(b, `select pg_stat_reset()`)
		r := loaddriver.Run(ctx, s.hookLoad(16, s.events(6000, fmt.Sprintf("ft%d", i)), "processed"))
		if r.Errors > 0 {
			b.Fatalf("%d errors (first: %v)", r.Errors, r.FirstError)
		}
		rows, err := s.db.Pool.Query(ctx, `select funcname, calls, total_time / calls, self_time / calls
			from pg_stat_user_functions where calls > 0 order by self_time desc limit 12`)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("%.0f fresh events/s; per call of each SQL function:\n%-34s %8s %10s %10s\n", r.PerSecond(), "function", "calls", "total ms", "self ms")
		for rows.Next() {
			var fn string
			var calls int
			var total, self float64
			if err := rows.Scan(&fn, &calls, &total, &self); err != nil {
				b.Fatal(err)
			}
			fmt.Printf("%-34s %8d %10.3f %10.3f\n", fn, calls, total, self)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(0, "ns/op")
}
