package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/check-subscription/checksub"
	"billing/functions/create-checkout-session/checkout"
	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/stripetest/fntest"
	"billing/internal/testdb"
	"billing/shared/stripesync"

	stripewebhook "github.com/stripe/stripe-go/v76/webhook"
)

const webhookSecret = "whsec_soakTestWebhookSecret"

// figures are the soak's counters.
type figures struct {
	requests, checks, checkouts, cancels         atomic.Int64
	deliveries, duplicates, injected, unexpected atomic.Int64
	statuses                                     sync.Map // "fn status" -> *atomic.Int64
}

func (f *figures) count(fn string, status int) {
	v, _ := f.statuses.LoadOrStore(fmt.Sprintf("%s %d", fn, status), new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	f.requests.Add(1)
}

// subState is what the soak sent for one webhook subscription.
type subState struct {
	id, user string
	next     int // the next event's number
	last     bool
}

func duration(t *testing.T) time.Duration {
	if s := os.Getenv("BILLING_SOAK_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BILLING_SOAK_SECONDS=%q", s)
		}
		return time.Duration(n) * time.Second
	}
	return 60 * time.Second
}

func send(method, url, token, body string, header map[string]string) (int, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

func event(t *testing.T, s *subState, n int, cancel bool, base time.Time) (string, []byte) {
	id := fmt.Sprintf("evt_soak_%s_%d", s.id, n)
	verb := "updated"
	if n == 0 {
		verb = "created"
	}
	at := base.Add(time.Duration(n) * time.Second) // one second apart: ordered by created
	end := base.Add(30 * 24 * time.Hour).Unix()
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": "customer.subscription." + verb, "api_version": "2025-03-31.basil",
		"created": at.Unix(), "livemode": false,
		"data": map[string]any{"object": map[string]any{
			"id": s.id, "object": "subscription", "customer": "cus_" + s.id, "status": "active", "livemode": false,
			"created": base.Unix(), "start_date": base.Unix(), "cancel_at_period_end": cancel,
			"metadata": map[string]any{"supabase_uid": s.user},
			"items": map[string]any{"object": "list", "data": []any{map[string]any{
				"id": "si_" + s.id, "object": "subscription_item", "quantity": 1,
				"current_period_start": base.Unix(), "current_period_end": end,
				"price": map[string]any{"id": fntest.StandardPrice, "object": "price"},
			}}},
		}},
	})
	if err != nil {
		t.Error(err)
	}
	return id, b
}

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak test runs for a minute")
	}
	d := duration(t)
	db := testdb.New(t)
	env := map[string]string{"STRIPE_WEBHOOK_SECRET": webhookSecret}
	hook := fntest.Start(t, webhook.Spec, fntest.Options{DB: db, Env: env})
	check := fntest.Start(t, checksub.Spec, fntest.Options{DB: db})
	buy := fntest.Start(t, checkout.Spec, fntest.Options{DB: db})
	buy.ListStoredSubscriptions(t)
	cancels := fntest.StartSubscribers(t, cancelsub.Spec, fntest.Options{DB: db})

	var users []string
	tokens := map[string]string{}
	subs := make([]*subState, 12)
	for i := range subs {
		u := db.CreateUser(t, "")
		subs[i] = &subState{id: fmt.Sprintf("sub_soak_%02d", i), user: u}
		users = append(users, u)
	}
	var cancelTokens []string
	// Enough users that the per-user rate limit (20 a minute) leaves most
	// checkouts and cancels to reach Stripe.
	for i := 0; i < 24; i++ {
		u, tok := cancels.Subscribe(t, fmt.Sprintf("soakcancel%d", i), fntest.Sub{Status: "active"})
		users = append(users, u)
		cancelTokens = append(cancelTokens, tok)
	}
	var buyers []string
	for i := 0; i < 24; i++ {
		u := db.CreateUser(t, "")
		users = append(users, u)
		buyers = append(buyers, buy.Token(t, u, ""))
	}
	for _, u := range users {
		tokens[u] = check.Token(t, u, "")
	}

	var f figures
	sent := map[string]bool{} // event IDs delivered with a valid signature
	var sentMu sync.Mutex
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	ctx, stop := context.WithTimeout(context.Background(), d)
	defer stop()
	var wg sync.WaitGroup

	// Webhooks: batches of events over random subscriptions, shuffled,
	// with duplicates, and a delivery with a bad signature now and then
	// (an injected failure Stripe retries).
	for w := 0; w < 2; w++ {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for ctx.Err() == nil {
				type delivery struct {
					id   string
					body []byte
				}
				var batch []delivery
				for _, s := range []*subState{subs[rng.IntN(len(subs))], subs[rng.IntN(len(subs))]} {
					sentMu.Lock()
					n := s.next
					s.next++
					cancel := n > 0 && rng.IntN(2) == 0
					s.last = cancel
					sentMu.Unlock()
					id, body := event(t, s, n, cancel, base)
					batch = append(batch, delivery{id, body})
					if rng.IntN(3) == 0 {
						batch = append(batch, delivery{id, body})
						f.duplicates.Add(1)
					}
				}
				rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
				for _, dl := range batch {
					if rng.IntN(10) == 0 {
						f.injected.Add(1)
						code, _ := send(http.MethodPost, hook.URL, "", string(dl.body), map[string]string{"Stripe-Signature": "t=1,v1=bad"})
						f.count("webhook", code)
					}
					for try := 0; try < 5; try++ { // Stripe retries a 5xx
						sig := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: dl.body, Secret: webhookSecret, Timestamp: time.Now()}).Header
						code, err := send(http.MethodPost, hook.URL, "", string(dl.body), map[string]string{"Stripe-Signature": sig})
						f.count("webhook", code)
						f.deliveries.Add(1)
						if err == nil && code == http.StatusOK {
							sentMu.Lock()
							sent[dl.id] = true
							sentMu.Unlock()
							break
						}
						f.unexpected.Add(1)
					}
				}
			}
		})
	}
	// check-subscription on page loads.
	for w := 0; w < 3; w++ {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for ctx.Err() == nil {
				u := users[rng.IntN(len(users))]
				code, err := send(http.MethodGet, check.URL, tokens[u], "", nil)
				f.checks.Add(1)
				f.count("check-subscription", code)
				if err != nil || code != http.StatusOK {
					f.unexpected.Add(1)
				}
			}
		})
	}
	// Checkouts, with Stripe failing now and then, and cancels.
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(3, 13))
		for ctx.Err() == nil {
			failing := rng.IntN(8) == 0
			if failing {
				buy.Proxy.Fail(http.MethodPost, "/v1/checkout/sessions", 500, map[string]any{"type": "api_error", "message": "injected"})
				f.injected.Add(1)
			}
			code, err := send(http.MethodPost, buy.URL, buyers[rng.IntN(len(buyers))], `{"plan":"standard"}`, nil)
			buy.Proxy.ClearFailures()
			f.checkouts.Add(1)
			f.count("create-checkout-session", code)
			switch {
			case err != nil:
				f.unexpected.Add(1)
			case code == http.StatusOK, code == http.StatusConflict, code == http.StatusTooManyRequests:
			case code == http.StatusBadGateway && failing:
			default:
				f.unexpected.Add(1)
			}
			code, err = send(http.MethodPost, cancels.URL, cancelTokens[rng.IntN(len(cancelTokens))], `{}`, nil)
			f.cancels.Add(1)
			f.count("cancel-subscription", code)
			if err != nil || (code != http.StatusOK && code != http.StatusTooManyRequests) {
				f.unexpected.Add(1)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	wg.Wait()

	// Every event sent is applied exactly once (the ID is the primary key;
	// processed, not failed).
	var applied, failed int
	if err := db.Pool.QueryRow(context.Background(), `select count(*) filter (where status = 'processed'), count(*) filter (where status = 'failed')
		from public.stripe_events where id like 'evt_soak_%'`).Scan(&applied, &failed); err != nil {
		t.Fatal(err)
	}
	lost := len(sent) - applied
	// Every subscription holds its latest event's state, whatever the order.
	for _, s := range subs {
		if s.next == 0 {
			continue
		}
		var cancel bool
		if err := db.Pool.QueryRow(context.Background(), `select cancel_at_period_end from public.subscriptions where id = $1`, s.id).Scan(&cancel); err != nil {
			t.Fatalf("%s: %v", s.id, err)
		}
		if cancel != s.last {
			t.Errorf("%s: cancel_at_period_end %v, latest event says %v", s.id, cancel, s.last)
		}
	}
	// Every snapshot equals the one recomputed from the subscriptions.
	catalog, _ := json.Marshal(stripesync.CatalogDocument(hook.Deps.Catalog))
	const snapshot = `select coalesce(active_plan, ''), coalesce(active_status, ''), coalesce(active_subscription_id, ''),
		coalesce(subscription_current_period_end::text, ''), cancel_at_period_end from public.profiles where id = $1`
	mismatched := 0
	for _, u := range users {
		tx, err := db.Pool.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var before, after [5]any
		var b, a [4]string
		var bc, ac bool
		if err := tx.QueryRow(context.Background(), snapshot, u).Scan(&b[0], &b[1], &b[2], &b[3], &bc); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(context.Background(), `select public.billing_refresh_user($1, $2::jsonb)`, u, string(catalog)); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRow(context.Background(), snapshot, u).Scan(&a[0], &a[1], &a[2], &a[3], &ac); err != nil {
			t.Fatal(err)
		}
		_ = tx.Rollback(context.Background())
		if b[0] == "" && b[2] == "" {
			// Never computed (no billing event for the user yet): the
			// functions read that as the free plan.
			b[0] = hook.Deps.Catalog.Free().ID
		}
		before = [5]any{b[0], b[1], b[2], b[3], bc}
		after = [5]any{a[0], a[1], a[2], a[3], ac}
		if before != after {
			mismatched++
			t.Errorf("user %s: snapshot %v, recomputed %v", u, before, after)
		}
	}

	var statuses []string
	f.statuses.Range(func(k, v any) bool {
		statuses = append(statuses, fmt.Sprintf("%s: %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	t.Logf("soak %v: %d requests (%d check-subscription, %d checkouts, %d cancels, %d webhook deliveries), "+
		"%d distinct events sent, %d duplicates, %d injected failures, %d applied, %d failed rows, %d lost, %d snapshot mismatches, %d unexpected answers; statuses: %s",
		d, f.requests.Load(), f.checks.Load(), f.checkouts.Load(), f.cancels.Load(), f.deliveries.Load(),
		len(sent), f.duplicates.Load(), f.injected.Load(), applied, failed, lost, mismatched, f.unexpected.Load(), strings.Join(statuses, ", "))
	if lost != 0 || applied != len(sent) {
		t.Errorf("%d events sent, %d applied: %d lost", len(sent), applied, lost)
	}
	if f.unexpected.Load() != 0 {
		t.Errorf("%d unexpected answers", f.unexpected.Load())
	}
	if len(sent) < 20 || f.checks.Load() < 100 {
		t.Errorf("too little load: %d events, %d checks", len(sent), f.checks.Load())
	}
}
