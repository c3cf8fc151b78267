package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v76/webhook"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/testdb"
	"billing/shared/httpkit"
	"billing/shared/plans"
	"billing/shared/store"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// The endpoint's secrets: the current one and the one being rotated out.
const (
	secret    = "whsec_test_current_0123456789abcdef"
	oldSecret = "whsec_test_previous_0123456789abcdef"
)

// Prices of the test catalog.
const (
	priceStandard = "price_std_test"
	pricePremium  = "price_prem_test"
)

func catalogWith(t testing.TB, extra map[string]string) *plans.Catalog {
	t.Helper()
	env := map[string]string{
		"STRIPE_STANDARD_PRICE_ID_TEST": priceStandard,
		"STRIPE_PREMIUM_PRICE_ID_TEST":  pricePremium,
		"STRIPE_STANDARD_PRICE_ID_LIVE": "price_std_live",
		"STRIPE_PREMIUM_PRICE_ID_LIVE":  "price_prem_live",
	}
	for k, v := range extra {
		env[k] = v
	}
	cat, err := plans.Load("", "test", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// truth is an in-memory Stripe: the current object of every subscription.
// A fetch answers it stamped like StripeFetcher's: its Date header is the
// clock when the answer leaves (whole seconds), and the stamp is the lower
// bound stripeclient.ReadTime derives from it and the round trip.
type truth struct {
	mu      sync.Mutex
	subs    map[string][]byte
	fetches atomic.Int64
}

func newTruth() *truth { return &truth{subs: map[string][]byte{}} }

func (f *truth) set(id string, raw []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[id] = raw
}

func (f *truth) FetchSubscription(_ context.Context, id string) ([]byte, time.Time, error) {
	f.fetches.Add(1)
	sent := time.Now()
	f.mu.Lock()
	raw, ok := f.subs[id]
	f.mu.Unlock()
	if !ok {
		return nil, time.Time{}, fmt.Errorf("%w: %s", webhook.ErrNotFound, id)
	}
	h := http.Header{"Date": {time.Now().UTC().Format(http.TimeFormat)}}
	return raw, stripeclient.ReadTime(h, sent, time.Now()), nil
}

// failingCaller wraps the real store and fails billing_apply_event calls
// of chosen events: before the call reaches the database (nothing applied),
// or after it committed (the answer is lost), as a dropped connection does.
type failingCaller struct {
	store.Caller
	mu     sync.Mutex
	before map[string]int
	after  map[string]int
	failed atomic.Int64
}

func (f *failingCaller) failBefore(eventID string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.before[eventID] += n
}

func (f *failingCaller) failAfter(eventID string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.after[eventID] += n
}

func (f *failingCaller) take(m map[string]int, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m[id] > 0 {
		m[id]--
		f.failed.Add(1)
		return true
	}
	return false
}

func (f *failingCaller) Call(ctx context.Context, fn string, args []store.Arg, out any) error {
	if fn != "billing_apply_event" {
		return f.Caller.Call(ctx, fn, args, out)
	}
	var doc struct {
		Event *struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	if b, ok := args[0].Value.([]byte); ok {
		_ = json.Unmarshal(b, &doc)
	}
	id := ""
	if doc.Event != nil {
		id = doc.Event.ID
	}
	if f.take(f.before, id) {
		return fmt.Errorf("store: %s: %w: injected failure before the call", fn, store.ErrUnavailable)
	}
	err := f.Caller.Call(ctx, fn, args, out)
	if err == nil && f.take(f.after, id) {
		return fmt.Errorf("store: %s: %w: injected failure after the commit", fn, store.ErrUnavailable)
	}
	return err
}

// countingMailer records the outbox rows handed to it.
type countingMailer struct {
	mu    sync.Mutex
	sends map[int64]int
}

func (m *countingMailer) SendIDs(_ context.Context, ids []int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		m.sends[id]++
	}
	return nil
}

func (m *countingMailer) count(id int64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sends[id]
}

// env is one webhook handler on its own test database.
type env struct {
	t       testing.TB
	db      *testdb.DB
	caller  *failingCaller
	store   *store.Store
	syncer  *stripesync.Syncer
	truth   *truth
	mailer  *countingMailer
	handler http.Handler
	mode    string
}

type envOption func(*webhook.Options)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	db := testdb.New(t)
	return newEnvOn(t, db, catalogWith(t, nil), opts...)
}

func newEnvOn(t testing.TB, db *testdb.DB, cat *plans.Catalog, opts ...envOption) *env {
	t.Helper()
	pg, err := store.OpenPG(context.Background(), withParam(db.URL, "pool_max_conns", "8"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	fc := &failingCaller{Caller: pg, before: map[string]int{}, after: map[string]int{}}
	e := &env{t: t, db: db, caller: fc, store: store.New(fc), truth: newTruth(),
		mailer: &countingMailer{sends: map[int64]int{}}, mode: "test"}
	e.syncer = &stripesync.Syncer{Store: e.store, Catalog: cat, Locale: "ja"}
	o := webhook.Options{Verifier: webhook.Verifier{Secrets: []string{secret, oldSecret}}, Mode: "test",
		Syncer: e.syncer, Fetcher: e.truth, Mailer: e.mailer}
	for _, opt := range opts {
		opt(&o)
	}
	e.mode = o.Mode
	e.handler = webhook.New(o)
	return e
}

// testLog keeps the handler's logs out of the test output; set
// BILLING_TEST_LOGS=1 to see them.
var testLog = func() *slog.Logger {
	if os.Getenv("BILLING_TEST_LOGS") != "" {
		return slog.Default()
	}
	return slog.New(slog.DiscardHandler)
}()

// sign returns the Stripe-Signature header of body for secret at ts.
func sign(body []byte, secret string, ts time.Time) string {
	return stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{
		Payload: body, Secret: secret, Timestamp: ts}).Header
}

// post sends body with the header sig and returns the status and JSON body.
func (e *env) post(body []byte, sig string) (int, map[string]any) {
	req := httptest.NewRequest(http.MethodPost, "/functions/v1/handle-stripe-webhook", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req = req.WithContext(httpkit.WithLogger(req.Context(), testLog))
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// deliver signs body like Stripe does now and posts it.
func (e *env) deliver(body []byte) (int, map[string]any) {
	return e.post(body, sign(body, secret, time.Now()))
}

// mustDeliver delivers body and fails unless the answer is 200.
func (e *env) mustDeliver(body []byte) map[string]any {
	e.t.Helper()
	code, out := e.deliver(body)
	if code != http.StatusOK {
		e.t.Fatalf("delivery answered %d: %v", code, out)
	}
	return out
}

// scalar runs a query returning one value.
func (e *env) scalar(sql string, args ...any) any {
	e.t.Helper()
	var v any
	if err := e.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func (e *env) count(sql string, args ...any) int64 {
	e.t.Helper()
	v := e.scalar(sql, args...)
	n, ok := v.(int64)
	if !ok {
		e.t.Fatalf("%s: not a count: %v", sql, v)
	}
	return n
}

// createUser inserts a user with a fixed ID (the profile follows).
func createUser(t testing.TB, db *testdb.DB, id, email string) {
	t.Helper()
	db.MustExec(t, `insert into auth.users (id, email) values ($1, $2)`, id, email)
}

// withParam sets a query parameter of a connection URL.
func withParam(raw, k, v string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}
