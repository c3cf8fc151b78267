package checkout_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
)

// openSession is a Checkout Session as Stripe lists it, for the proxy to
// answer a list of the customer's open sessions with.
type openSession struct {
	id, customer, user, plan, price, mode, status string
	expiresIn                                     time.Duration
	successURL, cancelURL                         string
}

func (s openSession) object() map[string]any {
	mode, status := s.mode, s.status
	if mode == "" {
		mode = "subscription"
	}
	if status == "" {
		status = "open"
	}
	md := map[string]any{}
	if s.user != "" {
		md["supabase_uid"] = s.user
	}
	if s.plan != "" {
		md["plan"] = s.plan
		md["price_id"] = s.price
	}
	success, cancel := s.successURL, s.cancelURL
	if success == "" {
		success = successDefault
	}
	if cancel == "" {
		cancel = cancelDefault
	}
	return map[string]any{
		"id": s.id, "object": "checkout.session", "customer": s.customer, "mode": mode, "status": status,
		"metadata": md, "client_reference_id": s.user, "success_url": success, "cancel_url": cancel,
		"expires_at": time.Now().Add(s.expiresIn).Unix(), "url": "https://checkout.stripe.com/c/pay/" + s.id,
	}
}

// listOpenSessions makes the proxy answer the list of Checkout Sessions
// with sessions (stripe-mock would answer with one fixture).
func listOpenSessions(p *stripetest.Proxy, sessions ...openSession) {
	p.Rewrite(http.MethodGet, "/v1/checkout/sessions", func(req stripetest.Request, body map[string]any) {
		if req.Path != "/v1/checkout/sessions" {
			return
		}
		data := make([]any, len(sessions))
		for i, s := range sessions {
			data[i] = s.object()
		}
		body["data"], body["has_more"] = data, false
	})
}

func expired(p *stripetest.Proxy) []string {
	var ids []string
	for _, r := range p.Requests(http.MethodPost, "/v1/checkout/sessions/") {
		if id, ok := strings.CutSuffix(strings.TrimPrefix(r.Path, "/v1/checkout/sessions/"), "/expire"); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// TestCheckoutSessionExpiresAt: every session expires 30 to 60 minutes
// after it was made (Stripe's default is 24 hours).
func TestCheckoutSessionExpiresAt(t *testing.T) {
	e := startCheckout(t, fntest.Options{})
	user := e.DB.CreateUser(t, "")
	before := time.Now()
	if code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"standard"}`); code != http.StatusOK {
		t.Fatalf("%d %v", code, body)
	}
	reqs := e.Proxy.Requests(http.MethodPost, "/v1/checkout/sessions")
	if len(reqs) != 1 {
		t.Fatalf("%d session creations", len(reqs))
	}
	at, err := strconv.ParseInt(reqs[0].Form.Get("expires_at"), 10, 64)
	if err != nil {
		t.Fatalf("expires_at = %q: %v", reqs[0].Form.Get("expires_at"), err)
	}
	if d := time.Unix(at, 0).Sub(before); d < 30*time.Minute || d > 60*time.Minute+time.Second {
		t.Errorf("expires_at is %v after the call, want 30 to 60 minutes", d)
	}
}

// TestCheckoutExpiresEarlierOpenSessions: a new checkout expires the
// user's earlier open subscription sessions, or returns the open one for
// the same plan and return URLs when it has time left, so that two tabs
// cannot both be paid.
func TestCheckoutExpiresEarlierOpenSessions(t *testing.T) {
	e := startCheckout(t, fntest.Options{})
	tests := []struct {
		name        string
		sessions    func(user, cus string) []openSession
		wantExpired []string
		wantReused  string // "" = a new session
	}{
		{"another plan's open session is expired", func(user, cus string) []openSession {
			return []openSession{
				{id: "cs_prem", customer: cus, user: user, plan: "premium", price: fntest.PremiumPrice, expiresIn: 40 * time.Minute},
				{id: "cs_payment", customer: cus, mode: "payment", expiresIn: 40 * time.Minute},
			}
		}, []string{"cs_prem"}, ""},
		{"the same plan's open session is returned, the others expired", func(user, cus string) []openSession {
			return []openSession{
				{id: "cs_same", customer: cus, user: user, plan: "standard", price: fntest.StandardPrice, expiresIn: 40 * time.Minute},
				{id: "cs_old", customer: cus, user: user, plan: "standard", price: fntest.StandardPrice, expiresIn: 20 * time.Minute},
			}
		}, []string{"cs_old"}, "cs_same"},
		{"an open session without our metadata is expired", func(_, cus string) []openSession {
			return []openSession{{id: "cs_dash", customer: cus, expiresIn: 40 * time.Minute}}
		}, []string{"cs_dash"}, ""},
		{"the same plan about to expire is replaced", func(user, cus string) []openSession {
			return []openSession{{id: "cs_late", customer: cus, user: user, plan: "standard", price: fntest.StandardPrice, expiresIn: 3 * time.Minute}}
		}, []string{"cs_late"}, ""},
		{"the same plan with other return paths is replaced", func(user, cus string) []openSession {
			return []openSession{{id: "cs_path", customer: cus, user: user, plan: "standard", price: fntest.StandardPrice,
				expiresIn: 40 * time.Minute, cancelURL: fntest.SiteURL + "/elsewhere"}}
		}, []string{"cs_path"}, ""},
		{"the same plan at an old price is replaced", func(user, cus string) []openSession {
			return []openSession{{id: "cs_price", customer: cus, user: user, plan: "standard", price: "price_old", expiresIn: 40 * time.Minute}}
		}, []string{"cs_price"}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := e.DB.CreateUser(t, "")
			cus := "cus_open" + string(rune('a'+i))
			fntest.LinkCustomer(t, e.DB, user, cus)
			e.Proxy.Reset()
			listOpenSessions(e.Proxy, tt.sessions(user, cus)...)
			code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"standard"}`)
			if code != http.StatusOK {
				t.Fatalf("%d %v", code, body)
			}
			lists := e.Proxy.Requests(http.MethodGet, "/v1/checkout/sessions")
			if len(lists) != 1 || lists[0].Form.Get("customer") != cus || lists[0].Form.Get("status") != "open" {
				t.Fatalf("list requests %+v, want one for customer %s, status open", lists, cus)
			}
			if got := expired(e.Proxy); strings.Join(got, ",") != strings.Join(tt.wantExpired, ",") {
				t.Errorf("expired %v, want %v", got, tt.wantExpired)
			}
			created := e.Proxy.Count(http.MethodPost, "/v1/checkout/sessions") - len(expired(e.Proxy))
			if tt.wantReused != "" {
				if body["sessionId"] != tt.wantReused || body["url"] != "https://checkout.stripe.com/c/pay/"+tt.wantReused {
					t.Errorf("answer %v, want the open session %s", body, tt.wantReused)
				}
				if created != 0 {
					t.Errorf("%d sessions created, want the open one returned", created)
				}
				return
			}
			if created != 1 {
				t.Errorf("%d sessions created, want 1", created)
			}
			if body["sessionId"] == "" || strings.HasPrefix(body["sessionId"].(string), "cs_open") {
				t.Errorf("answer %v", body)
			}
		})
	}
}

// TestCheckoutEarlierSessionJustPaid: an earlier open session that Stripe
// will not expire because it was paid meanwhile means the user has just
// subscribed: 409 already_subscribed, no new session.
func TestCheckoutEarlierSessionJustPaid(t *testing.T) {
	e := startCheckout(t, fntest.Options{})
	user := e.DB.CreateUser(t, "")
	fntest.LinkCustomer(t, e.DB, user, "cus_paid")
	listOpenSessions(e.Proxy, openSession{id: "cs_paid", customer: "cus_paid", user: user, plan: "premium",
		price: fntest.PremiumPrice, expiresIn: 40 * time.Minute})
	e.Proxy.Fail(http.MethodPost, "/v1/checkout/sessions/cs_paid/expire", 400, map[string]any{
		"type": "invalid_request_error", "message": "Only Checkout Sessions with a status of `open` can be expired."})
	e.Proxy.Rewrite(http.MethodGet, "/v1/checkout/sessions/cs_paid", func(_ stripetest.Request, body map[string]any) {
		body["id"], body["status"], body["customer"] = "cs_paid", "complete", "cus_paid"
	})
	code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"standard"}`)
	if code != http.StatusConflict || body["error"] != "already_subscribed" {
		t.Fatalf("%d %v, want 409 already_subscribed", code, body)
	}
	if n := e.Proxy.Count(http.MethodPost, "/v1/checkout/sessions") - 1; n != 0 {
		t.Errorf("%d sessions created after a paid one", n)
	}
}

// TestCheckoutRefusesSubscriptionWaitingForPayment: an incomplete, unpaid
// or paused subscription is still the user's subscription: a checkout
// would make a second one. 409 subscription_needs_payment sends the app to
// the billing portal to pay or add a payment method.
func TestCheckoutRefusesSubscriptionWaitingForPayment(t *testing.T) {
	e := startCheckout(t, fntest.Options{})
	for i, status := range []string{"incomplete", "unpaid", "paused"} {
		t.Run(status, func(t *testing.T) {
			user := e.DB.CreateUser(t, "")
			id := "sub_wait" + string(rune('a'+i))
			fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: id, UserID: user, Status: status})
			e.Proxy.Reset()
			code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"standard"}`)
			if code != http.StatusConflict || body["error"] != "subscription_needs_payment" {
				t.Fatalf("%d %v, want 409 subscription_needs_payment", code, body)
			}
			if msg, _ := body["message"].(string); !strings.Contains(msg, "portal") {
				t.Errorf("message %q does not point to the portal", msg)
			}
			if n := e.Proxy.Count("", "/"); n != 0 {
				t.Errorf("%d Stripe calls for a refused checkout", n)
			}
		})
	}
	// An active subscription next to an unpaid one is "already subscribed".
	user := e.DB.CreateUser(t, "")
	fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_both_unpaid", UserID: user, Status: "unpaid"})
	fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_both_active", UserID: user, Status: "active"})
	if code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"standard"}`); code != 409 || body["error"] != "already_subscribed" {
		t.Fatalf("%d %v, want 409 already_subscribed", code, body)
	}
}
