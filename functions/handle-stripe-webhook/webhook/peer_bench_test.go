package webhook_test

import (
	"os"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/shared/stripesync"
)

// peerSecret is the secret the TypeScript peers signed the fixture with.
const peerSecret = "whsec_test_secret"

// peerFixture is the 4,007-byte event the TypeScript peers were measured on
// (../shared/fixtures/peer-bench in the workspace), and a catalog that
// knows its price.
func peerFixture(t testing.TB) ([]byte, *stripesync.Syncer) {
	t.Helper()
	body, err := os.ReadFile("testdata/peer-bench/customer.subscription.updated.json")
	if err != nil {
		t.Fatal(err)
	}
	return body, &stripesync.Syncer{Catalog: catalogWith(t, map[string]string{
		"STRIPE_STANDARD_PRICE_ID_TEST": "price_1QAbCdEfGhIjKlMnOpQrStUv"})}
}

// BenchmarkPeerFixture is the figure the peers were measured on: the
// signature check with one secret, the envelope, the subscription and the
// plan lookup, for the 4 KB fixture, on one goroutine.
func BenchmarkPeerFixture(b *testing.B) {
	body, syncer := peerFixture(b)
	v := webhook.Verifier{Secrets: []string{peerSecret}}
	header := sign(body, peerSecret, time.Now())
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
		st, err := syncer.ResolveEvent(ev)
		if err != nil {
			b.Fatal(err)
		}
		if st.Plan != "standard" {
			b.Fatalf("plan %q", st.Plan)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
