package fault

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"billing/functions/create-checkout-session/checkout"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
	"billing/shared/function"
	"billing/shared/httpkit"
	"billing/shared/stripeclient"
)

// stallingStripe is Stripe that, for the first n customer creations, takes
// longer to answer than the client waits: it still makes the customer
// (the request is forwarded after the stall), but the answer never
// arrives in time, as with a timeout after the write.
func stallingStripe(t *testing.T, upstream string, n int64, stall time.Duration) *httptest.Server {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	var left atomic.Int64
	left.Store(n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/customers" && left.Add(-1) >= 0 {
			body, _ := io.ReadAll(r.Body)
			time.Sleep(stall)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			r.ContentLength = int64(len(body))
			r = r.WithContext(t.Context()) // the client gave up; Stripe goes on
			rp.ServeHTTP(httptest.NewRecorder(), r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestStripeTimesOutDuringCheckout: Stripe takes longer than the client's
// timeout to create the customer, on every try of one call (stripe-go's
// retries included), and creates it each time. The user sees a retryable
// error (502 stripe_error or 503 unavailable, saying to try again); once
// Stripe answers in time, the retry checks out with one customer: every
// creation carried the same idempotency key, so Stripe made one.
func TestStripeTimesOutDuringCheckout(t *testing.T) {
	e := fntest.Start(t, checkout.Spec, fntest.Options{})
	e.ListStoredSubscriptions(t)
	stall := stallingStripe(t, e.Proxy.URL, 1+stripeclient.MaxNetworkRetries, 600*time.Millisecond)
	sc := stripeclient.New(stripetest.Key, stall.URL, &http.Client{Timeout: 200 * time.Millisecond}, e.Deps.Log)
	h := checkout.New(e.Deps.Verifier, e.Deps.Store, sc.Customers, sc.CheckoutSessions, sc.Subscriptions, e.Deps.Catalog,
		checkout.Options{SiteURL: fntest.SiteURL})
	srv := httptest.NewServer(function.Wrap(checkout.Name, e.Config, e.Deps.Log, h))
	t.Cleanup(srv.Close)
	user := e.DB.CreateUser(t, "")
	token := e.Token(t, user, "")
	post := func() (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+httpkit.BasePath+checkout.Name, strings.NewReader(`{"plan":"standard"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}

	code, body := post()
	msg, _ := body["message"].(string)
	retryable := (code == http.StatusBadGateway && body["error"] == httpkit.CodeStripeError) ||
		(code == http.StatusServiceUnavailable && body["error"] == httpkit.CodeUnavailable)
	if !retryable || !strings.Contains(strings.ToLower(msg), "try again") {
		t.Fatalf("answer %d %v, want 502 stripe_error or 503 unavailable that says to try again", code, body)
	}
	time.Sleep(700 * time.Millisecond) // the stalled creations reach Stripe
	if code, body := post(); code != http.StatusOK {
		t.Fatalf("retry after Stripe recovered: %d %v", code, body)
	}
	if n := distinctKeys(e, http.MethodPost, "/v1/customers"); n != 1 {
		t.Fatalf("%d distinct customer creations, want 1 (every try with one idempotency key)", n)
	}
	if got := len(e.Proxy.Requests(http.MethodPost, "/v1/customers")); got < 2 {
		t.Fatalf("Stripe saw %d customer creations; the stall did not happen", got)
	}
	if cus := fntest.CustomerOf(t, e.DB, user); cus == "" {
		t.Fatal("no customer stored")
	}
	if n := len(e.Proxy.Requests(http.MethodPost, "/v1/checkout/sessions")); n != 1 {
		t.Fatalf("%d sessions created, want 1", n)
	}
}
