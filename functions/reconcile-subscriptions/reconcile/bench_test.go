package reconcile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest/fntest"
)

// benchSetup makes n users, each with a linked customer and one active
// subscription in Stripe, all stored by a first applied run.
func benchSetup(b *testing.B, n int) (*fntest.Env, *stripeSide, *reconcile.Reconciler) {
	b.Helper()
	side := &stripeSide{}
	e := fntest.Start(b, reconcile.Spec, fntest.Options{})
	side.serve(b, e.Proxy)
	subs := make([]fntest.Sub, n)
	for i := range n {
		u := e.DB.CreateUser(b, fmt.Sprintf("bench%d@example.com", i))
		c := fmt.Sprintf("cus_bench%d", i)
		fntest.LinkCustomer(b, e.DB, u, c)
		subs[i] = fntest.Sub{ID: fmt.Sprintf("sub_bench%05d", i), UserID: u, CustomerID: c}
	}
	side.set(subs...)
	r := reconcile.FromDeps(e.Deps).Reconciler
	r.Mail = nil
	rep, err := r.Run(context.Background(), reconcile.Options{Apply: true})
	if err != nil || rep.Applied != n {
		b.Fatalf("setup run: %v %+v", err, rep)
	}
	return e, side, r
}

// BenchmarkFullRun is one scheduled reconcile over every subscription,
// against stripe-mock behind the recording proxy (100 per list page) and the
// real database. "in_sync" is the daily case: everything is compared and
// nothing differs. "all_drifted" applies every subscription (the database
// said canceled, Stripe says active), with each user's access before and
// after.
func BenchmarkFullRun(b *testing.B) {
	for _, tc := range []struct {
		name  string
		n     int
		drift bool
	}{{"in_sync/1000", 1000, false}, {"all_drifted/200", 200, true}} {
		b.Run(tc.name, func(b *testing.B) {
			e, _, r := benchSetup(b, tc.n)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if tc.drift {
					b.StopTimer()
					e.DB.MustExec(b, `update public.subscriptions set status = 'canceled', state_at = now() - interval '1 hour'`)
					b.StartTimer()
				}
				rep, err := r.Run(ctx, reconcile.Options{Apply: tc.drift})
				if err != nil || rep.Checked != tc.n || (tc.drift && rep.Applied != tc.n) || (!tc.drift && len(rep.Changes) != 0) {
					b.Fatalf("run: %v checked %d applied %d changes %d", err, rep.Checked, rep.Applied, len(rep.Changes))
				}
			}
			b.ReportMetric(float64(b.N*tc.n)/b.Elapsed().Seconds(), "subscriptions/s")
		})
	}
}

// BenchmarkUserSync is the success page's call through the HTTP handler:
// "sync" a user whose interval has passed (one Stripe list for their
// customer, the subscription applied, the check-subscription body);
// "within_interval" the same user again (answered from the database).
func BenchmarkUserSync(b *testing.B) {
	const users = 200
	e, _, _ := benchSetup(b, users)
	ids := make([]string, users)
	rows, err := e.DB.Pool.Query(context.Background(), `select user_id::text from public.subscriptions order by id`)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; rows.Next(); i++ {
		if err := rows.Scan(&ids[i]); err != nil {
			b.Fatal(err)
		}
	}
	tokens := make([]string, users)
	for i, id := range ids {
		tokens[i] = e.Token(b, id, "bench@example.com")
	}
	b.Run("sync", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if i > 0 && i%users == 0 {
				// Every user's interval over again, and the per-user rate
				// limit (10 a minute) forgotten: the benchmark measures
				// the sync, not the 429 (make bench runs it three times).
				b.StopTimer()
				e.DB.MustExec(b, `update public.billing_reconcile_user_runs set last_sync_at = now() - interval '1 minute'`)
				e.DB.MustExec(b, `delete from public.billing_rate_limits`)
				b.StartTimer()
			}
			if code, body := e.Post(b, tokens[i%users], ``); code != 200 || body["plan"] != "standard" {
				b.Fatalf("%d %v", code, body)
			}
		}
	})
	b.Run("within_interval", func(b *testing.B) {
		e.DB.MustExec(b, `update public.billing_reconcile_user_runs set last_sync_at = now()`)
		e.DB.MustExec(b, `delete from public.billing_rate_limits`)
		start := time.Now()
		for i := range b.N {
			if i > 0 && i%5 == 0 {
				b.StopTimer()
				e.DB.MustExec(b, `delete from public.billing_rate_limits`)
				b.StartTimer()
			}
			if code, body := e.Post(b, tokens[0], ``); code != 200 || body["plan"] != "standard" {
				b.Fatalf("%d %v", code, body)
			}
		}
		if time.Since(start) > reconcile.UserSyncInterval {
			b.Log("the run outlasted the interval: some calls synced")
		}
	})
}
