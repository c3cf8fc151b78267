// Package localstripe is a Stripe that keeps state, for `billing dev` and
// the browser tests: an http.Handler in front of stripe-mock. Every API
// request is first sent to stripe-mock, which validates it against Stripe's
// OpenAPI spec (a rejected request gets stripe-mock's error as is); an
// accepted one is then answered from the state kept here: the customers,
// Checkout Sessions and subscriptions this stack created, read, updated,
// listed and canceled as Stripe would. Objects it does not know are
// answered with stripe-mock's fixture, as before.
//
// It sends the webhook events Stripe would send, signed with the webhook
// secret, to the local webhook URL: customer.subscription.updated for a
// cancel, a resume or a plan change; and through its control endpoints
// (under /local-stripe/, no Stripe account involved) a paid checkout
// (checkout.session.completed, customer.subscription.created, invoice.paid),
// the end of a period (renewal with invoice.paid, a failed renewal with
// invoice.payment_failed and past_due, or the end of a scheduled cancel with
// customer.subscription.deleted).
//
// Mount the handler at Prefix; the API base for stripe-go is then the
// server's URL + Prefix.
package localstripe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Prefix is the URL path the handler is mounted at.
const Prefix = "/local-stripe"

// Options configure a Server.
type Options struct {
	// Upstream is stripe-mock's URL (every API request is validated there).
	Upstream string
	// PublicURL is the origin the handler is reachable at (Checkout
	// Session URLs point to its pay page).
	PublicURL string
	// WebhookURL receives the events; empty sends none.
	WebhookURL string
	// WebhookSecret signs them (the first of a comma list).
	WebhookSecret string
	// StatePath keeps the state across restarts (JSON); empty keeps it in
	// memory only.
	StatePath string
	// Client is the HTTP client for stripe-mock and the webhook; nil is a
	// client with a 30 s timeout.
	Client *http.Client
	// Log gets one line per delivered event (type, ID, status); nil is
	// slog.Default().
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Server is the stateful Stripe. It is safe for concurrent use.
type Server struct {
	opt   Options
	mu    sync.Mutex
	st    *state
	queue chan batch
	done  chan struct{}
	stop  sync.Once
}

// New returns a Server with the state read from opt.StatePath (when it
// exists) and starts its event sender; Close stops it.
func New(opt Options) (*Server, error) {
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.Upstream = strings.TrimRight(opt.Upstream, "/")
	opt.PublicURL = strings.TrimRight(opt.PublicURL, "/")
	if first, _, _ := strings.Cut(opt.WebhookSecret, ","); first != "" {
		opt.WebhookSecret = strings.TrimSpace(first)
	}
	st, err := loadState(opt.StatePath)
	if err != nil {
		return nil, err
	}
	s := &Server{opt: opt, st: st, queue: make(chan batch, 256), done: make(chan struct{})}
	go s.sender()
	return s, nil
}

// Close stops the event sender after the queued events were sent.
func (s *Server) Close() {
	s.stop.Do(func() {
		close(s.queue)
		<-s.done
	})
}

// APIBase is the API base URL for stripe-go (STRIPE_API_BASE).
func (s *Server) APIBase() string { return s.opt.PublicURL + Prefix }

// ServeHTTP routes the Stripe API (Prefix/v1/...) and the control
// endpoints (Prefix/checkout/..., Prefix/advance, Prefix/events).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, Prefix)
	if strings.HasPrefix(path, "/v1/") {
		s.serveAPI(w, r, path)
		return
	}
	s.serveControl(w, r, path)
}

// serveAPI validates the request at stripe-mock, then answers it from the
// state when it is about an object kept here.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, path string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "", "could not read the request body")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if r.Method == http.MethodPost && key != "" {
		if c, ok := s.cached(r.Method, path, key); ok {
			writeRaw(w, c.Status, c.Body)
			return
		}
	}
	status, upstream, err := s.forward(r, path, body)
	if err != nil {
		apiError(w, http.StatusBadGateway, "api_error", "", "stripe-mock could not be reached: "+err.Error())
		return
	}
	if status/100 != 2 {
		writeRaw(w, status, upstream)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		form = url.Values{}
	}
	if r.Method == http.MethodGet {
		form = r.URL.Query()
	}
	status, out := s.answer(r.Method, path, form, upstream)
	if r.Method == http.MethodPost && key != "" {
		s.remember(r.Method, path, key, status, out)
	}
	writeRaw(w, status, out)
}

// forward sends the request to stripe-mock and returns its answer.
func (s *Server) forward(r *http.Request, path string, body []byte) (int, []byte, error) {
	u := s.opt.Upstream + path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for _, h := range []string{"Authorization", "Content-Type", "Stripe-Version", "Stripe-Account"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	res, err := s.opt.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	return res.StatusCode, out, err
}

// answer is the stateful answer to a request stripe-mock accepted
// (upstream is its answer, used for objects not kept here).
func (s *Server) answer(method, path string, form url.Values, upstream []byte) (int, []byte) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, "/v1/"), "/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		obj    any
		events []event
		status = http.StatusOK
	)
	switch {
	case len(parts) == 1 && parts[0] == "customers" && method == http.MethodPost:
		obj = s.createCustomer(form)
	case len(parts) == 2 && parts[0] == "customers" && s.st.Customers[parts[1]] != nil:
		c := s.st.Customers[parts[1]]
		if method == http.MethodPost {
			c.update(form)
		}
		obj = c.json()
	case len(parts) == 2 && parts[0] == "checkout" && parts[1] == "sessions" && method == http.MethodPost:
		obj = s.createSession(form)
	case len(parts) == 3 && parts[0] == "checkout" && parts[1] == "sessions" && s.st.Sessions[parts[2]] != nil:
		obj = s.st.Sessions[parts[2]].json()
	case len(parts) == 1 && parts[0] == "subscriptions" && method == http.MethodGet:
		obj = s.listSubscriptions(form)
	case len(parts) == 2 && parts[0] == "subscriptions" && s.st.Subscriptions[parts[1]] != nil:
		sub := s.st.Subscriptions[parts[1]]
		switch method {
		case http.MethodPost:
			events = s.updateSubscription(sub, form)
		case http.MethodDelete:
			events = s.endSubscription(sub)
		}
		obj = sub.json()
	default:
		return http.StatusOK, upstream
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return http.StatusInternalServerError, errorBody("api_error", "", err.Error())
	}
	if err := s.save(); err != nil {
		s.opt.Log.Warn("localstripe: state not saved", "error", err.Error())
	}
	s.enqueue(events)
	return status, out
}

// cached is an earlier answer to the same idempotency key.
func (s *Server) cached(method, path, key string) (cachedAnswer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.Idempotent[method+" "+path+" "+key]
	return c, ok
}

func (s *Server) remember(method, path, key string, status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Idempotent[method+" "+path+" "+key] = cachedAnswer{Status: status, Body: json.RawMessage(body)}
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_local"+randomID(12))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// apiError writes an error in Stripe's shape.
func apiError(w http.ResponseWriter, status int, typ, code, msg string) {
	writeRaw(w, status, errorBody(typ, code, msg))
}

func errorBody(typ, code, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": typ, "code": code, "message": msg}})
	return b
}

// unix is t in Stripe's whole seconds.
func unix(t time.Time) int64 { return t.Unix() }

// newID is a fresh Stripe-looking ID with prefix.
func newID(prefix string) string { return fmt.Sprintf("%s_L%s", prefix, randomID(20)) }
