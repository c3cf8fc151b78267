package contract

import (
	"net/http"
	"testing"
	"time"
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
				for b.Loop() {
					if code, _, body := tg.call(b, http.MethodPost, "create-checkout-session", token, `{"plan":"standard"}`, nil); code != http.StatusOK {
						b.Fatalf("%d %v", code, body)
					}
				}
			})
		})
	}
}
