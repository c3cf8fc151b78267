// Package stripetest puts a recording proxy in front of stripe-mock, so that
// tests can use the real stripe-go client against Stripe's official mock
// and still assert on exactly what the code sent: the method, the path, the
// form parameters (metadata, URLs, cancellation details), the
// Idempotency-Key and Stripe-Version headers.
//
// stripe-mock is stateless: it validates the parameters against Stripe's
// OpenAPI spec and answers with fixture objects (a retrieved or updated
// subscription has a fixture price, fixture periods from 2009, a fixture
// customer). Assertions should therefore be about what we send. When a flow
// needs a particular answer from Stripe to go on (an updated subscription
// that carries our price and a period end in the future), a test rewrites
// the JSON stripe-mock answered with Rewrite; when it needs an error Stripe
// would give (a card error, an outage), it answers with Fail instead of
// forwarding, and Drop cuts connections to test stripe-go's retries.
package stripetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"billing/shared/stripeclient"
)

// EnvURL names the environment variable with stripe-mock's URL.
const EnvURL = "TEST_STRIPE_MOCK_URL"

// Key is a test-mode secret key; stripe-mock accepts any sk_test_ key.
const Key = "sk_test_stripetest"

// MockURL returns stripe-mock's URL from TEST_STRIPE_MOCK_URL and fails t
// when it is not set (a test never skips, so a missing stripe-mock cannot
// pass CI silently).
func MockURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Fatal(EnvURL + " is not set: run `make test` (or go run ./cmd/billing testenv -- go test ...)")
	}
	return strings.TrimRight(u, "/")
}

// Request is one request the proxy received.
type Request struct {
	// Method and Path are the HTTP method and the URL path ("/v1/customers").
	Method, Path string
	// Form holds the parsed form body of a POST, or the query of a GET.
	Form url.Values
	// IdempotencyKey and StripeVersion are the request's headers.
	IdempotencyKey, StripeVersion string
	// Header is a copy of every request header.
	Header http.Header
}

// rewrite is one Rewrite registration.
type rewrite struct {
	method, prefix string
	fn             func(req Request, body map[string]any)
}

// failure is one Fail registration.
type failure struct {
	method, prefix string
	status         int
	body           map[string]any
	when           func(Request) bool // nil: every matching request
}

// Proxy is the recording reverse proxy. Point stripe-go's API base at URL.
type Proxy struct {
	// Server is the httptest server; URL is the API base for stripe-go.
	*httptest.Server

	upstream string
	t        testing.TB
	client   *http.Client

	mu       sync.Mutex
	requests []Request
	rewrites []rewrite
	failures []failure
	drops    []*drop
	seq      int
	// answered holds, when Idempotency is on, the first answer to each
	// POST's Idempotency-Key.
	answered map[string]savedAnswer
}

// savedAnswer is an answer Stripe keeps for an idempotency key.
type savedAnswer struct {
	status int
	body   []byte
}

// Idempotency makes the proxy keep idempotency keys as Stripe does: a POST
// with an Idempotency-Key the proxy has answered before (with a status
// below 500) is answered again with that first answer's status and body
// and the header Idempotent-Replayed: true, without being forwarded, so
// that the answer describes the object as it was then. The request is
// still recorded. (stripe-mock is stateless and executes every request.)
func (p *Proxy) Idempotency() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.answered == nil {
		p.answered = map[string]savedAnswer{}
	}
}

// drop is one Drop registration: the number of connections left to cut.
type drop struct {
	method, prefix string
	left           int
}

// NewProxy starts a proxy that forwards to stripeMockURL and records every
// request. It is closed when t ends.
func NewProxy(t testing.TB, stripeMockURL string) *Proxy {
	t.Helper()
	p := &Proxy{upstream: strings.TrimRight(stripeMockURL, "/"), t: t, client: &http.Client{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// Requests returns the recorded requests whose method is method (any when
// "") and whose path starts with pathPrefix, in arrival order.
func (p *Proxy) Requests(method, pathPrefix string) []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Request
	for _, r := range p.requests {
		if matches(r.Method, r.Path, method, pathPrefix) {
			out = append(out, r)
		}
	}
	return out
}

// Count is len(Requests(method, pathPrefix)).
func (p *Proxy) Count(method, pathPrefix string) int {
	return len(p.Requests(method, pathPrefix))
}

// Reset forgets the recorded requests (rewrites and failures stay).
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = nil
}

// Rewrite changes the JSON body of successful answers to requests whose
// method is method (any when "") and whose path starts with pathPrefix:
// fn gets the request and the decoded body and edits the body in place.
// Rewrites apply in the order they were added. They exist because
// stripe-mock answers with fixtures; a test rewrites only what the flow
// under test reads from Stripe's answer.
func (p *Proxy) Rewrite(method, pathPrefix string, fn func(req Request, body map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rewrites = append(p.rewrites, rewrite{method, pathPrefix, fn})
}

// Fail answers requests whose method is method (any when "") and whose path
// starts with pathPrefix with status and the Stripe error object stripeErr
// ({"type": "card_error", "message": ...}) instead of forwarding them, with
// a Request-Id header as Stripe sends it. The request is still recorded.
// ClearFailures removes every failure.
func (p *Proxy) Fail(method, pathPrefix string, status int, stripeErr map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = append(p.failures, failure{method, pathPrefix, status, stripeErr, nil})
}

// Drop cuts the connection, without any answer, of the next n requests
// whose method is method (any when "") and whose path starts with
// pathPrefix: a network failure, which stripe-go retries with the same
// idempotency key. The requests are still recorded.
func (p *Proxy) Drop(method, pathPrefix string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drops = append(p.drops, &drop{method, pathPrefix, n})
}

// ClearFailures stops answering with errors.
func (p *Proxy) ClearFailures() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = nil
}

func matches(gotMethod, gotPath, method, prefix string) bool {
	return (method == "" || gotMethod == method) && strings.HasPrefix(gotPath, prefix)
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(),
		IdempotencyKey: r.Header.Get("Idempotency-Key"), StripeVersion: r.Header.Get("Stripe-Version")}
	if r.Method == http.MethodGet || r.Method == http.MethodDelete {
		rec.Form = r.URL.Query()
	} else if rec.Form, err = url.ParseQuery(string(body)); err != nil {
		p.t.Errorf("stripetest: %s %s: body is not a form: %v", r.Method, r.URL.Path, err)
	}

	p.mu.Lock()
	p.requests = append(p.requests, rec)
	p.seq++
	reqID := "req_stripetest_" + strconv.Itoa(p.seq)
	var fail *failure
	for i := range p.failures {
		if f := p.failures[i]; matches(r.Method, r.URL.Path, f.method, f.prefix) && (f.when == nil || f.when(rec)) {
			fail = &p.failures[i]
		}
	}
	cut := false
	for _, d := range p.drops {
		if d.left > 0 && matches(r.Method, r.URL.Path, d.method, d.prefix) {
			d.left--
			cut = true
			break
		}
	}
	var rws []rewrite
	for _, rw := range p.rewrites {
		if matches(r.Method, r.URL.Path, rw.method, rw.prefix) {
			rws = append(rws, rw)
		}
	}
	saved, replay := p.answered[rec.IdempotencyKey]
	replay = replay && r.Method == http.MethodPost && rec.IdempotencyKey != ""
	p.mu.Unlock()

	if replay {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", reqID)
		w.Header().Set(stripeclient.ReplayedHeader, "true")
		w.WriteHeader(saved.status)
		_, _ = w.Write(saved.body)
		return
	}
	if cut {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return
		}
		p.t.Errorf("stripetest: cannot cut the connection of %s %s", r.Method, r.URL.Path)
	}
	if fail != nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", reqID)
		w.WriteHeader(fail.status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": fail.body})
		return
	}
	p.forward(w, r, rec, body, rws)
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, rec Request, body []byte, rws []rewrite) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.Header.Del("Accept-Encoding")
	res, err := p.client.Do(out)
	if err != nil {
		http.Error(w, "stripetest: stripe-mock: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	resBody, err := io.ReadAll(res.Body)
	if err != nil {
		http.Error(w, "stripetest: stripe-mock: "+err.Error(), http.StatusBadGateway)
		return
	}
	if res.StatusCode/100 == 2 && len(rws) > 0 {
		var obj map[string]any
		if err := json.Unmarshal(resBody, &obj); err != nil {
			p.t.Errorf("stripetest: %s %s: answer is not a JSON object: %v", r.Method, r.URL.Path, err)
		} else {
			for _, rw := range rws {
				rw.fn(rec, obj)
			}
			if resBody, err = json.Marshal(obj); err != nil {
				p.t.Errorf("stripetest: re-encode answer: %v", err)
			}
		}
	}
	if r.Method == http.MethodPost && rec.IdempotencyKey != "" && res.StatusCode < 500 {
		p.mu.Lock()
		if p.answered != nil {
			if _, ok := p.answered[rec.IdempotencyKey]; !ok {
				p.answered[rec.IdempotencyKey] = savedAnswer{res.StatusCode, resBody}
			}
		}
		p.mu.Unlock()
	}
	for k, v := range res.Header {
		if k == "Content-Length" {
			continue
		}
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resBody)))
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(resBody)
}
