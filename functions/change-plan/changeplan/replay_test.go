package changeplan_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"billing/functions/change-plan/changeplan"
	"billing/internal/stripetest/fntest"
)

// TestAnOldChangeSentAgainAfterAnotherChange: a change's idempotency key is
// the subscription, the price and the proration date, so the same request
// sent again within the preview's hour is answered by Stripe with its first
// answer (a replay), whatever happened since. Here the subscription went
// back to standard in between (a downgrade in the portal): the replayed
// answer still says premium. It must not be stored as the subscription now
// (paid access Stripe does not charge for); the function reads the
// subscription again and, as it is not on the plan asked for, answers 409
// preview_expired. Before, the replay was stored and answered 200 premium.
func TestAnOldChangeSentAgainAfterAnotherChange(t *testing.T) {
	w := start(t, fntest.Options{})
	w.Proxy.Idempotency()
	_, token := w.Subscribe(t, "replay", fntest.Sub{Status: "active"})
	pd := time.Now().Add(-2 * time.Minute).Unix()
	req := fmt.Sprintf(`{"plan":"premium","prorationDate":%d}`, pd)
	if code, body := w.Post(t, token, req); code != http.StatusOK || body["plan"] != "premium" {
		t.Fatalf("the upgrade: %d %v", code, body)
	}
	// Back on standard, in Stripe (the mirror answers standard) and in the
	// database, as the downgrade's webhook event stored it.
	w.DB.MustExec(t, `update public.subscriptions set price_id = $2, plan = 'standard',
		state_at = now() - interval '1 minute' where id = $1`, "sub_replay", fntest.StandardPrice)

	w.Proxy.Reset()
	code, body := w.Post(t, token, req)
	if code != http.StatusConflict || body["error"] != changeplan.CodePreviewExpired {
		t.Errorf("the old request again: %d %v, want 409 %s", code, body, changeplan.CodePreviewExpired)
	}
	if price := storedPrice(t, w, "sub_replay"); price != fntest.StandardPrice {
		t.Errorf("stored price %s after the replay, want standard's: Stripe holds standard", price)
	}
	if n := w.Proxy.Count(http.MethodGet, "/v1/subscriptions/sub_replay"); n < 2 {
		t.Errorf("%d reads of the subscription, want the load and a read after the replay", n)
	}
}

// TestARetriedChangeThatWasMadeIsAnsweredAsMade: the same request sent
// again after its change was made but its answer lost (Stripe replays
// the first answer, and the subscription is on the new plan) answers 200
// with the new plan, from a fresh read.
func TestARetriedChangeThatWasMadeIsAnsweredAsMade(t *testing.T) {
	w := start(t, fntest.Options{})
	w.Proxy.Idempotency()
	_, token := w.Subscribe(t, "made", fntest.Sub{Status: "active"})
	pd := time.Now().Add(-2 * time.Minute).Unix()
	req := fmt.Sprintf(`{"plan":"premium","prorationDate":%d}`, pd)
	if code, body := w.Post(t, token, req); code != http.StatusOK || body["plan"] != "premium" {
		t.Fatalf("the upgrade: %d %v", code, body)
	}
	// Stripe holds premium; the database lost the change (as if the answer
	// never arrived).
	w.Update("sub_made", func(s *fntest.Sub) { s.PriceID = fntest.PremiumPrice })
	w.DB.MustExec(t, `update public.subscriptions set price_id = $2, plan = 'standard',
		state_at = now() - interval '1 minute' where id = $1`, "sub_made", fntest.StandardPrice)

	if code, body := w.Post(t, token, req); code != http.StatusOK || body["plan"] != "premium" {
		t.Errorf("the retry: %d %v, want 200 premium", code, body)
	}
	if price := storedPrice(t, w, "sub_made"); price != fntest.PremiumPrice {
		t.Errorf("stored price %s, want premium's", price)
	}
}

// storedPrice is the price the database holds for the subscription id.
func storedPrice(t *testing.T, w *world, id string) string {
	t.Helper()
	var price string
	if err := w.DB.Pool.QueryRow(context.Background(), `select price_id from public.subscriptions where id = $1`, id).Scan(&price); err != nil {
		t.Fatal(err)
	}
	return price
}
