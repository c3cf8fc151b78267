package fault

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/internal/stripetest/fntest"

	stripewebhook "github.com/stripe/stripe-go/v76/webhook"
)

const webhookSecret = "whsec_faultInjectionWebhookSecret"

// subscriptionEvent is a customer.subscription.<verb> event (current API
// shape) of subscription sub for user at time at.
func subscriptionEvent(t *testing.T, id, verb, sub, user string, cancel bool, at time.Time) []byte {
	t.Helper()
	end := at.Add(30 * 24 * time.Hour).Unix()
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": "customer.subscription." + verb, "api_version": "2025-03-31.basil",
		"created": at.Unix(), "livemode": false,
		"data": map[string]any{"object": map[string]any{
			"id": sub, "object": "subscription", "customer": "cus_" + sub, "status": "active", "livemode": false,
			"created": at.Unix(), "start_date": at.Unix(), "cancel_at_period_end": cancel,
			"metadata": map[string]any{"supabase_uid": user},
			"items": map[string]any{"object": "list", "data": []any{map[string]any{
				"id": "si_" + sub, "object": "subscription_item", "quantity": 1,
				"current_period_start": at.Unix(), "current_period_end": end,
				"price": map[string]any{"id": fntest.StandardPrice, "object": "price"},
			}}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deliver posts a signed webhook and returns the status.
func deliver(t *testing.T, url string, body []byte) int {
	t.Helper()
	sig := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: body, Secret: webhookSecret, Timestamp: time.Now()}).Header
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	req.Header.Set("Stripe-Signature", sig)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// tcpProxy forwards connections to a target address; Stop cuts every
// connection and refuses new ones (the database is down), Start accepts
// again (it is back).
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	t.Cleanup(func() { _ = ln.Close(); p.Stop() })
	go p.serve()
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

// Stop cuts every connection and refuses new ones.
func (p *tcpProxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// Start accepts connections again.
func (p *tcpProxy) Start() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}
