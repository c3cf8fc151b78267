package contract

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/internal/ops"
	"billing/shared/auth/authtest"
)

// runContract is the contract: the same calls, the same answers, whatever
// serves the functions.
func runContract(t *testing.T, tg target) {
	t.Run("CORS preflight", func(t *testing.T) {
		h := http.Header{"Origin": {siteURL}, "Access-Control-Request-Method": {"POST"},
			"Access-Control-Request-Headers": {"authorization, content-type"}}
		code, hdr, _ := tg.call(t, http.MethodOptions, "create-checkout-session", "", "", h)
		if code != http.StatusNoContent && code != http.StatusOK {
			t.Fatalf("preflight status %d", code)
		}
		if got := hdr.Get("Access-Control-Allow-Origin"); got != siteURL {
			t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, siteURL)
		}
		if !strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "authorization") {
			t.Fatalf("Access-Control-Allow-Headers %q", hdr.Get("Access-Control-Allow-Headers"))
		}
	})

	t.Run("401 of each kind", func(t *testing.T) {
		user := authtest.NewUserID(t)
		anon := authtest.SignHS256(t, authtest.Secret, authtest.AnonKeyClaims("contract", time.Now()))
		// An ES256 token whose kid the project's JWKS does not have: the
		// function fetches the JWKS (over wasi:http in the WASI build; a
		// failed fetch would be a 503) and rejects the token.
		ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		unknownKid := authtest.Sign(t, "ES256", ecKey, map[string]any{"kid": "contract-unknown-kid"},
			authtest.UserClaims(user, "x@example.com", tg.issuer, time.Now()))
		for _, c := range []struct{ name, token, code string }{
			{"no token", "", "missing_token"},
			{"garbage", "not-a-jwt", "invalid_token"},
			{"wrong secret", authtest.UserToken(t, "another-secret-of-at-least-32-characters", user, "x@example.com"), "invalid_token"},
			{"expired", tg.token(t, user, "x@example.com", -time.Hour), "token_expired"},
			{"anon key", anon, "not_a_user_token"},
			{"unknown signing key", unknownKid, "invalid_token"},
		} {
			t.Run(c.name, func(t *testing.T) {
				code, _, body := tg.call(t, http.MethodPost, "check-subscription", c.token, "", nil)
				if code != http.StatusUnauthorized || body["error"] != c.code {
					t.Fatalf("got %d %v, want 401 %s", code, body, c.code)
				}
			})
		}
	})

	t.Run("unknown path is a JSON 404", func(t *testing.T) {
		code, _, body := tg.call(t, http.MethodGet, "no-such-function", "", "", nil)
		if code != http.StatusNotFound || body["error"] == nil {
			t.Fatalf("got %d %v", code, body)
		}
	})

	free := tg.db.CreateUser(t, "free-user@example.com")
	t.Run("check-subscription free", func(t *testing.T) {
		code, _, body := tg.call(t, http.MethodGet, "check-subscription", tg.token(t, free, "free-user@example.com", time.Hour), "", nil)
		if code != http.StatusOK || body["plan"] != "free" || body["subscribed"] != false {
			t.Fatalf("got %d %v", code, body)
		}
	})

	t.Run("checkout against stripe-mock", func(t *testing.T) {
		code, _, body := tg.call(t, http.MethodPost, "create-checkout-session", tg.token(t, free, "free-user@example.com", time.Hour), `{"plan":"standard"}`, nil)
		if code != http.StatusOK {
			t.Fatalf("got %d %v", code, body)
		}
		if u, _ := body["url"].(string); !strings.HasPrefix(u, "https://") {
			t.Fatalf("checkout url %v", body["url"])
		}
	})

	paid := tg.db.CreateUser(t, "paid-user@example.com")
	paidToken := tg.token(t, paid, "paid-user@example.com", time.Hour)
	knowSubscription(paid)
	event, err := ops.BuildEvent(ops.EventOptions{
		Type: "customer.subscription.created", UserID: paid, PriceID: standardPrice,
		CustomerID: ops.DefaultCustomerID(paid), SubscriptionID: ops.DefaultSubscriptionID(paid),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("signed webhook applied once, then its duplicate", func(t *testing.T) {
		code, body := tg.webhook(t, event)
		if code != http.StatusOK || body["status"] != "processed" {
			t.Fatalf("first delivery: %d %v", code, body)
		}
		code, body = tg.webhook(t, event)
		if code != http.StatusOK || body["status"] != "duplicate" {
			t.Fatalf("second delivery: %d %v", code, body)
		}
		tampered := bytes.Replace(event, []byte(standardPrice), []byte("price_prem_test"), 1)
		h := http.Header{"Stripe-Signature": {ops.SignatureHeader(event, webhookSecret, time.Now())}}
		code, _, body = tg.call(t, http.MethodPost, "handle-stripe-webhook", "", string(tampered), h)
		if code != http.StatusBadRequest {
			t.Fatalf("tampered body: %d %v, want 400", code, body)
		}
	})

	t.Run("check-subscription paid", func(t *testing.T) {
		code, _, body := tg.call(t, http.MethodGet, "check-subscription", paidToken, "", nil)
		if code != http.StatusOK || body["plan"] != "standard" || body["subscribed"] != true {
			t.Fatalf("got %d %v", code, body)
		}
	})

	t.Run("cancel and resume", func(t *testing.T) {
		code, _, body := tg.call(t, http.MethodPost, "cancel-subscription", paidToken, `{"reason":"too_expensive"}`, nil)
		if code != http.StatusOK {
			t.Fatalf("cancel: %d %v", code, body)
		}
		// stripe-mock is stateless: Stripe's webhook for the scheduled cancel
		// is what records it, as in production.
		scheduled, err := ops.BuildEvent(ops.EventOptions{
			Type: "customer.subscription.updated", UserID: paid, PriceID: standardPrice,
			CustomerID: ops.DefaultCustomerID(paid), SubscriptionID: ops.DefaultSubscriptionID(paid),
			CancelAtPeriodEnd: true, Now: time.Now().Add(2 * time.Second),
		})
		if err != nil {
			t.Fatal(err)
		}
		if code, body := tg.webhook(t, scheduled); code != http.StatusOK || body["status"] != "processed" {
			t.Fatalf("cancel's webhook: %d %v", code, body)
		}
		code, _, body = tg.call(t, http.MethodPost, "resume-subscription", paidToken, `{}`, nil)
		if code != http.StatusOK {
			t.Fatalf("resume: %d %v", code, body)
		}
		code, _, body = tg.call(t, http.MethodGet, "check-subscription", paidToken, "", nil)
		if code != http.StatusOK || body["plan"] != "standard" {
			t.Fatalf("after resume: %d %v", code, body)
		}
	})

	t.Run("cancel without a subscription", func(t *testing.T) {
		code, _, body := tg.call(t, http.MethodPost, "cancel-subscription", tg.token(t, free, "free-user@example.com", time.Hour), `{}`, nil)
		if code < 400 || code >= 500 || body["error"] == nil {
			t.Fatalf("got %d %v, want a 4xx with an error code", code, body)
		}
	})
}

// lockedBuffer collects the components' output from several processes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
