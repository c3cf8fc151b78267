package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/testdb"
	"billing/shared/mail"
	"billing/shared/plans"
	"billing/shared/store"
)

// simLifecycles is how many lifecycles the simulation delivers.
const simLifecycles = 500

// sendGridCounter is an httptest SendGrid that accepts every well-formed
// v3 Mail Send request and counts them per outbox row.
type sendGridCounter struct {
	*httptest.Server
	mu     sync.Mutex
	byRow  map[int64]int
	errors []string
}

func newSendGridCounter(t testing.TB) *sendGridCounter {
	s := &sendGridCounter{byRow: map[int64]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Personalizations []struct {
				To []struct {
					Email string `json:"email"`
				} `json:"to"`
			} `json:"personalizations"`
			CustomArgs map[string]string `json:"custom_args"`
		}
		body, _ := io.ReadAll(r.Body)
		err := json.Unmarshal(body, &m)
		id, _ := strconv.ParseInt(m.CustomArgs["outbox_id"], 10, 64)
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send":
			s.errors = append(s.errors, r.Method+" "+r.URL.Path)
		case r.Header.Get("Authorization") != "Bearer SG.test-key":
			s.errors = append(s.errors, "authorization "+r.Header.Get("Authorization"))
		case err != nil || id <= 0 || len(m.Personalizations) != 1 || len(m.Personalizations[0].To) != 1:
			s.errors = append(s.errors, "body "+string(body))
		default:
			s.byRow[id]++
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
	}))
	t.Cleanup(s.Close)
	return s
}

func simSeed(t *testing.T) uint64 {
	if s := os.Getenv("BILLING_SIM_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("BILLING_SIM_SEED: %v", err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// TestSimulation delivers 500 random lifecycles twice, to two databases:
// in order, each event once; and shuffled, duplicated, two at a time, with
// injected database failures before and after the commit (the handler
// answers 503 and the event is delivered again). Final rows and
// check-subscription bodies must be equal, and every email must be sent
// exactly once.
func TestSimulation(t *testing.T) {
	seed := simSeed(t)
	t.Logf("seed %d (rerun with BILLING_SIM_SEED=%d)", seed, seed)
	base := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	lcs := make([]lifecycle, simLifecycles)
	total := 0
	for i := range lcs {
		lcs[i] = generate(rand.New(rand.NewPCG(seed, uint64(i))), i, base)
		total += len(lcs[i].events)
	}

	inOrder := simEnv(t, lcs, nil)
	start := time.Now()
	forEach(t, lcs, 8, func(i int, lc lifecycle) error {
		for _, ev := range lc.events {
			if code, out := inOrder.deliver(ev.body); code != 200 {
				return fmt.Errorf("in order: %s answered %d %v", ev.id, code, out)
			}
		}
		return nil
	})
	t.Logf("in order: %d events in %v", total, time.Since(start).Round(time.Millisecond))

	sg := newSendGridCounter(t)
	shuffled := simEnv(t, lcs, sg)
	var deliveries, fivexx atomic.Int64
	start = time.Now()
	forEach(t, lcs, 8, func(i int, lc lifecycle) error {
		r := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(i)))
		return deliverShuffled(shuffled, lc, r, &deliveries, &fivexx)
	})
	t.Logf("shuffled: %d deliveries of %d events (%d answered 5xx) in %v", deliveries.Load(), total,
		fivexx.Load(), time.Since(start).Round(time.Millisecond))
	if fivexx.Load() != shuffled.caller.failed.Load() || fivexx.Load() == 0 {
		t.Fatalf("%d answers were 5xx but %d failures were injected", fivexx.Load(), shuffled.caller.failed.Load())
	}
	// The reconcile job sends what a failed answer left pending.
	if _, err := shuffled.sender.SendDue(context.Background(), 1<<20); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	want, got := simState(t, inOrder, lcs, now), simState(t, shuffled, lcs, now)
	for name := range want {
		if want[name] != got[name] {
			t.Errorf("%s differ: %s", name, firstDifference(want[name], got[name]))
		}
	}
	checkEmailsOnce(t, shuffled, sg)
	checkCoverage(t, inOrder, shuffled, lcs)
}

// simEnv is a fresh database with the lifecycles' users and a handler whose
// Stripe knows their final states. With sg, emails go through shared/mail.
func simEnv(t *testing.T, lcs []lifecycle, sg *sendGridCounter) *simHandler {
	db := testdb.New(t)
	for _, lc := range lcs {
		createUser(t, db, lc.user, "user-"+lc.user[24:]+"@example.com")
	}
	h := &simHandler{}
	h.env = newEnvOn(t, db, simCatalog(t), func(o *webhook.Options) {
		if sg == nil {
			o.Mailer = nil
			return
		}
		pg, err := store.OpenPG(context.Background(), db.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pg.Close)
		h.sender = mail.New(mail.Config{APIKey: "SG.test-key", APIBase: sg.URL, From: "billing@example.com",
			SiteURL: "https://app.example", Locale: "ja"}, pg, nil)
		o.Mailer = webhook.SenderMailer{Sender: h.sender}
	})
	for _, lc := range lcs {
		for id, raw := range lc.finals {
			h.truth.set(id, raw)
		}
	}
	return h
}

// priceStandardLegacy is a grandfathered price of the standard plan.
const priceStandardLegacy = "price_std_legacy_test"

// simCatalog is the test catalog with a legacy price for standard.
func simCatalog(t *testing.T) *plans.Catalog {
	t.Helper()
	doc := strings.Replace(string(plans.DefaultJSON()), `"price_ids": {"test": "${STRIPE_STANDARD_PRICE_ID_TEST}"`,
		`"legacy_price_ids": {"test": ["`+priceStandardLegacy+`"]}, "price_ids": {"test": "${STRIPE_STANDARD_PRICE_ID_TEST}"`, 1)
	env := map[string]string{"STRIPE_STANDARD_PRICE_ID_TEST": priceStandard, "STRIPE_PREMIUM_PRICE_ID_TEST": pricePremium}
	c, err := plans.Parse([]byte(doc), "test", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := c.PlanForPrice(priceStandardLegacy); !ok || p.ID != "standard" {
		t.Fatal("the simulation's catalog has no legacy price")
	}
	return c
}

type simHandler struct {
	*env
	sender *mail.Sender
}

// forEach runs fn for every lifecycle on workers goroutines.
func forEach(t *testing.T, lcs []lifecycle, workers int, fn func(int, lifecycle) error) {
	t.Helper()
	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(lcs) {
					return
				}
				if err := fn(i, lcs[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// deliverShuffled delivers a lifecycle's events shuffled, about a third of
// them twice, from two concurrent senders, with one in five failing once
// (before or after the commit); a 5xx is delivered again later.
func deliverShuffled(h *simHandler, lc lifecycle, r *rand.Rand, deliveries, fivexx *atomic.Int64) error {
	for phase := range 2 {
		var events []simEvent
		for _, ev := range lc.events {
			if ev.phase == phase {
				events = append(events, ev)
			}
		}
		if err := deliverPhase(h, events, r, deliveries, fivexx); err != nil {
			return err
		}
	}
	return nil
}

// deliverPhase delivers events shuffled, as deliverShuffled describes.
func deliverPhase(h *simHandler, events []simEvent, r *rand.Rand, deliveries, fivexx *atomic.Int64) error {
	queue := append([]simEvent(nil), events...)
	for _, ev := range events {
		if r.IntN(3) == 0 {
			queue = append(queue, ev)
		}
		switch x := r.IntN(10); {
		case x == 0:
			h.caller.failBefore(ev.id, 1)
		case x == 1:
			h.caller.failAfter(ev.id, 1)
		}
	}
	r.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })

	var mu sync.Mutex
	inflight := 0
	var firstErr error
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if firstErr != nil || (len(queue) == 0 && inflight == 0) {
					mu.Unlock()
					return
				}
				if len(queue) == 0 {
					mu.Unlock()
					time.Sleep(time.Millisecond)
					continue
				}
				ev := queue[0]
				queue = queue[1:]
				inflight++
				mu.Unlock()

				code, out := h.deliver(ev.body)
				deliveries.Add(1)
				mu.Lock()
				inflight--
				switch {
				case code == http.StatusServiceUnavailable:
					fivexx.Add(1)
					at := r.IntN(len(queue) + 1)
					queue = append(queue[:at], append([]simEvent{ev}, queue[at:]...)...)
				case code != http.StatusOK:
					firstErr = fmt.Errorf("shuffled: %s answered %d %v", ev.id, code, out)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// simState is everything the comparison looks at, as JSON text per table.
func simState(t *testing.T, h *simHandler, lcs []lifecycle, now time.Time) map[string]string {
	t.Helper()
	queries := map[string]string{
		"subscriptions": `select id, user_id, customer_id, livemode, status, price_id, plan, quantity,
			current_period_start, current_period_end, cancel_at_period_end, cancel_at, canceled_at, ended_at,
			trial_start, trial_end, cancellation_reason, cancellation_feedback, cancellation_comment, stripe_created
			from subscriptions order by id`,
		"profiles": `select id, stripe_customer_id, active_plan, active_status, active_subscription_id,
			subscription_current_period_end, cancel_at_period_end from profiles order by id`,
		"usage_limits":  `select user_id, counter, limit_value, used, period_start, time_zone, valid_until from usage_limits order by 1, 2`,
		"stripe_events": `select id, type, status, error from stripe_events order by id`,
		"emails":        `select dedupe_key, kind, user_id, locale from email_outbox order by dedupe_key`,
		"held emails":   `select dedupe_key from billing_held_emails order by 1`,
	}
	out := map[string]string{}
	for name, q := range queries {
		var s string
		if err := h.db.Pool.QueryRow(context.Background(),
			`select coalesce(jsonb_agg(to_jsonb(x)), '[]'::jsonb)::text from (`+q+`) x`).Scan(&s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = s
	}
	var bodies []json.RawMessage
	for _, lc := range lcs {
		res, err := checksub.Compute(context.Background(), store.New(h.caller.Caller), h.syncer.Catalog, lc.user, now)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		bodies = append(bodies, b)
	}
	b, _ := json.Marshal(bodies)
	out["check-subscription bodies"] = string(b)
	return out
}

// checkEmailsOnce: every outbox row reached SendGrid exactly once.
func checkEmailsOnce(t *testing.T, h *simHandler, sg *sendGridCounter) {
	t.Helper()
	rows, err := h.db.Pool.Query(context.Background(), `select id, status,
		status = 'superseded' and not billing_email_superseded(kind, dedupe_key, template_data)
		from email_outbox order by id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	sg.mu.Lock()
	defer sg.mu.Unlock()
	if len(sg.errors) > 0 {
		t.Fatalf("bad SendGrid requests: %v", sg.errors[:min(3, len(sg.errors))])
	}
	n, superseded := 0, 0
	for rows.Next() {
		var id int64
		var status string
		var holds bool
		if err := rows.Scan(&id, &status, &holds); err != nil {
			t.Fatal(err)
		}
		n++
		switch {
		case status == "superseded" && sg.byRow[id] == 0 && !holds:
			// Its state no longer held when it was due (a late event), and
			// still does not: never sent.
			superseded++
		case sg.byRow[id] != 1 || status != "sent":
			t.Errorf("outbox row %d: sent %d times, status %s (a superseded row whose state holds: %v)", id, sg.byRow[id], status, holds)
		}
	}
	if n == 0 || len(sg.byRow) != n-superseded {
		t.Fatalf("%d outbox rows (%d superseded), %d distinct rows sent", n, superseded, len(sg.byRow))
	}
	t.Logf("%d emails sent once, %d superseded", n-superseded, superseded)
}

// checkCoverage makes sure the simulation exercised what it claims to.
func checkCoverage(t *testing.T, inOrder, shuffled *simHandler, lcs []lifecycle) {
	t.Helper()
	subs := 0
	for _, lc := range lcs {
		subs += len(lc.subs)
	}
	if n := inOrder.count(`select count(*) from subscriptions`); n != int64(subs) {
		t.Errorf("%d subscriptions stored, %d simulated", n, subs)
	}
	for _, kind := range []string{"welcome", "payment_failed", "cancellation_scheduled", "subscription_ended"} {
		if n := inOrder.count(`select count(*) from email_outbox where kind = $1`, kind); n == 0 {
			t.Errorf("no %s email in the simulation", kind)
		}
	}
	for _, st := range []string{"active", "canceled", "past_due", "trialing"} {
		if n := inOrder.count(`select count(*) from subscriptions where status = $1`, st); n == 0 {
			t.Errorf("no subscription ends %s", st)
		}
	}
	if n := inOrder.count(`select count(*) from subscriptions where cancel_at_period_end and status = 'active'`); n == 0 {
		t.Errorf("no subscription ends with a scheduled cancel")
	}
	// Second customers: their subscriptions belong to the user, who stays
	// linked to the first customer.
	if n := inOrder.count(`select count(*) from subscriptions s join profiles p on p.id = s.user_id
		where s.customer_id <> p.stripe_customer_id`); n == 0 {
		t.Errorf("no subscription of a second customer is owned by its user")
	}
	if n := inOrder.count(`select count(*) from subscriptions s where s.customer_id like '%b' and s.user_id is null
		and exists (select 1 from stripe_events e where e.type = 'checkout.session.completed'
		            and e.payload #>> '{data,object,subscription}' = s.id
		            and e.payload #>> '{data,object,metadata,supabase_uid}' is not null)`); n != 0 {
		t.Errorf("%d subscriptions of a second customer paid through our checkout have no user", n)
	}
	if n := inOrder.count(`select count(*) from subscriptions where price_id = $1`, priceStandardLegacy); n == 0 {
		t.Errorf("no subscription switched to the legacy price")
	}
	if inOrder.truth.fetches.Load() == 0 || shuffled.truth.fetches.Load() == 0 {
		t.Errorf("no fetch: same-second events were not exercised (%d, %d)",
			inOrder.truth.fetches.Load(), shuffled.truth.fetches.Load())
	}
	t.Logf("%d subscriptions, fetches: in order %d, shuffled %d", subs, inOrder.truth.fetches.Load(), shuffled.truth.fetches.Load())
}

// firstDifference shows the first element where two JSON arrays differ.
func firstDifference(a, b string) string {
	var x, y []json.RawMessage
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return fmt.Sprintf("\nin order: %.2000s\nshuffled: %.2000s", a, b)
	}
	for i := range max(len(x), len(y)) {
		var p, q json.RawMessage
		if i < len(x) {
			p = x[i]
		}
		if i < len(y) {
			q = y[i]
		}
		if string(p) != string(q) {
			return fmt.Sprintf("element %d (of %d and %d)\nin order: %s\nshuffled: %s", i, len(x), len(y), p, q)
		}
	}
	return "same elements"
}
