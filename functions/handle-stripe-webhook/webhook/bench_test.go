package webhook_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/shared/stripesync"
)

// BenchmarkVerifyAndParse is the CPU cost per event before the database:
// the signature check (HMAC-SHA256 over the raw body), the envelope and the
// subscription read in the basil shape, and the plan lookup, as the
// webhook reads them (the object read in the envelope's pass).
func BenchmarkVerifyAndParse(b *testing.B) {
	v := webhook.Verifier{Secrets: []string{oldSecret, secret}} // the match is the second secret
	syncer := &stripesync.Syncer{Catalog: catalogWith(b, nil)}
	now := time.Now()
	body := envelope("evt_bench", "customer.subscription.updated", vBasil, now, false,
		activeSub("sub_bench", "cus_bench", now).object(vBasil))
	header := sign(body, secret, now)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := v.Verify(body, header); err != nil {
			b.Fatal(err)
		}
		ev, err := stripesync.ParseEvent(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := syncer.ResolveEvent(ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApplyExactlyOnce delivers signed customer.subscription.updated
// events through the HTTP handler to the real database, 8 at a time, spread
// over 64 customers: each one is verified, recorded, applied, and its
// user's snapshot and limits recomputed in one transaction. "duplicates"
// delivers every event twice; the second delivery changes nothing.
func BenchmarkApplyExactlyOnce(b *testing.B) {
	for _, dup := range []bool{false, true} {
		name := "new"
		if dup {
			name = "duplicates"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, func(o *webhook.Options) { o.Mailer = nil })
			const customers = 64
			base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
			for i := range customers {
				createUser(b, e.db, simUser(i), fmt.Sprintf("bench%d@example.com", i))
			}
			bodies := make([][]byte, b.N)
			for n := range b.N {
				i := n % customers
				s := sub{ID: fmt.Sprintf("sub_bench_%d", i), Customer: fmt.Sprintf("cus_bench_%d", i), Status: "active",
					Price: []string{priceStandard, pricePremium}[n%2], UID: simUser(i), Created: base,
					PeriodStart: base, PeriodEnd: base.Add(30 * 24 * time.Hour)}
				// Later events of a customer are later in Stripe's clock:
				// every one applies, none needs a fetch.
				bodies[n] = envelope(fmt.Sprintf("evt_bench_%d", n), "customer.subscription.updated", vBasil,
					base.Add(time.Duration(n/customers)*time.Second), false, s.object(vBasil))
			}
			var next atomic.Int64
			b.SetParallelism(4) // 4 x GOMAXPROCS senders
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body := bodies[next.Add(1)-1]
					for range map[bool]int{false: 1, true: 2}[dup] {
						if code, out := e.deliver(body); code != 200 {
							b.Errorf("answered %d %v", code, out)
							return
						}
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			if n := e.count(`select count(*) from stripe_events where status = 'processed'`); n != int64(b.N) {
				b.Fatalf("%d events processed, %d delivered", n, b.N)
			}
		})
	}
}
