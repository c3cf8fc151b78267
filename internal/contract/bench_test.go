package contract

import (
	"context"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"billing/internal/registry"
	"billing/internal/testdb"
	"billing/internal/wasiserve"
)

// BenchmarkRequest is the per-request time of the same calls on the
// native server and on the components under jco serve (make bench-wasm):
// check-subscription (one database read; pgx natively, the REST data path
// from WASI) and create-checkout-session (Stripe calls to stripe-mock and
// database calls).
func BenchmarkRequest(b *testing.B) {
	for _, side := range []struct {
		name  string
		start func(testing.TB) target
	}{{"native", startNative}, {"wasi", startWASI}} {
		b.Run(side.name, func(b *testing.B) {
			tg := side.start(b)
			user := tg.db.CreateUser(b, "bench@example.com")
			token := tg.token(b, user, "bench@example.com", time.Hour)
			b.Run("check-subscription", func(b *testing.B) {
				for b.Loop() {
					if code, _, body := tg.call(b, http.MethodGet, "check-subscription", token, "", nil); code != http.StatusOK {
						b.Fatalf("%d %v", code, body)
					}
				}
			})
			b.Run("create-checkout-session", func(b *testing.B) {
				n := 0
				for b.Loop() {
					// The per-user rate limit (20 a minute) forgotten every
					// few calls: the benchmark measures the call, not the
					// 429.
					if n++; n%10 == 0 {
						b.StopTimer()
						tg.db.MustExec(b, `delete from public.billing_rate_limits`)
						b.StartTimer()
					}
					if code, _, body := tg.call(b, http.MethodPost, "create-checkout-session", token, `{"plan":"standard"}`, nil); code != http.StatusOK {
						b.Fatalf("%d %v", code, body)
					}
				}
			})
		})
	}
}

// BenchmarkComponentStart is one component's start under jco serve: from
// starting `jco serve` (which transpiles the component to JavaScript) to
// its first HTTP answer (a request that runs the function's main, so its
// configuration is read and its dependencies built).
func BenchmarkComponentStart(b *testing.B) {
	dir, jco := os.Getenv("BILLING_WASM_DIR"), os.Getenv("BILLING_JCO")
	if dir == "" || jco == "" {
		b.Skip("BILLING_WASM_DIR / BILLING_JCO not set (make bench-wasm sets them)")
	}
	db := testdb.New(b)
	environ := wasiEnviron(b, db)
	for _, s := range registry.All() {
		b.Run(s.Name, func(b *testing.B) {
			for b.Loop() {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				ws, err := wasiserve.Start(context.Background(), wasiserve.Config{
					Names: []string{s.Name}, Dir: dir, JCO: jco, Env: environ, Listener: ln,
				})
				ln.Close()
				if err != nil {
					b.Fatal(err)
				}
				ws.Close()
			}
		})
	}
}
