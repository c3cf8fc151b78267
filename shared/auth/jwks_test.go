package auth_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/httpkit"
)

// jwksVerifier starts a JWKS server with keys and returns a verifier that
// reads it; secret may be empty for a JWKS-only verifier.
func jwksVerifier(t *testing.T, clk *clock, secret string, keys ...*authtest.Key) (*auth.Verifier, *authtest.JWKSServer) {
	t.Helper()
	srv := authtest.NewJWKSServer(t, keys...)
	v, err := auth.NewVerifier(auth.Config{JWTSecret: secret, SupabaseURL: srv.SupabaseURL(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v, srv
}

func verifyOK(t *testing.T, v *auth.Verifier, token string) {
	t.Helper()
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func wantRequests(t *testing.T, srv *authtest.JWKSServer, n int) {
	t.Helper()
	if got := srv.Requests(); got != n {
		t.Fatalf("JWKS requests = %d, want %d", got, n)
	}
}

func TestVerifyES256ViaJWKS(t *testing.T) {
	clk := newClock()
	key := authtest.NewES256Key(t, "es-1")
	v, srv := jwksVerifier(t, clk, "", key)
	wantRequests(t, srv, 0) // NewVerifier does not fetch
	claims := authtest.UserClaims(authtest.NewUserID(t), "ann@example.com", srv.Issuer(), clk.Now())
	token := authtest.SignES256(t, key.Private.(*ecdsa.PrivateKey), key.ID, claims)

	steps := []struct {
		name     string
		advance  time.Duration
		requests int
	}{
		{"first token fetches the JWKS", 0, 1},
		{"second verify uses the cache", time.Second, 1},
		{"still cached before the TTL", 8 * time.Minute, 1},
		{"refetched after the TTL", 2 * time.Minute, 2},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clk.Advance(s.advance)
			verifyOK(t, v, token)
			wantRequests(t, srv, s.requests)
		})
	}
}

func TestVerifyRS256ViaJWKS(t *testing.T) {
	tests := []struct {
		name    string
		hideAlg bool
	}{
		{"alg published", false},
		{"alg inferred from kty", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			key := authtest.NewRS256Key(t, "rs-1")
			key.HideAlg = tt.hideAlg
			v, srv := jwksVerifier(t, clk, authtest.Secret, key)
			uid := authtest.NewUserID(t)
			u, err := v.Verify(context.Background(), key.Sign(t, authtest.UserClaims(uid, "", srv.Issuer(), clk.Now())))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if u.ID != uid {
				t.Errorf("user ID = %q, want %q", u.ID, uid)
			}
			wantRequests(t, srv, 1)
		})
	}
}

func TestJWKSRejections(t *testing.T) {
	clk := newClock()
	es := authtest.NewES256Key(t, "es-1")
	rs := authtest.NewRS256Key(t, "rs-1")
	esOther := authtest.NewES256Key(t, "es-1") // same kid, unpublished key
	both, srv := jwksVerifier(t, clk, authtest.Secret, es, rs)
	jwksOnly, err := auth.NewVerifier(auth.Config{SupabaseURL: srv.SupabaseURL(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	claims := authtest.UserClaims(authtest.NewUserID(t), "ann@example.com", srv.Issuer(), clk.Now())
	jwkJSON, err := json.Marshal(es.PublicJWK(t))
	if err != nil {
		t.Fatal(err)
	}
	hs256 := func(secret []byte, kid string) string {
		return authtest.Sign(t, "HS256", secret, map[string]any{"kid": kid}, claims)
	}

	tests := []struct {
		name  string
		v     *auth.Verifier
		token string
		code  string
		msg   string
	}{
		{"HS256 signed with the EC public key PEM", both, hs256(es.PublicPEM(t), es.ID), httpkit.CodeInvalidToken, "signature does not verify"},
		{"HS256 signed with the EC public key DER", both, hs256(es.PublicDER(t), es.ID), httpkit.CodeInvalidToken, "signature does not verify"},
		{"HS256 signed with the EC public JWK", both, hs256(jwkJSON, es.ID), httpkit.CodeInvalidToken, "signature does not verify"},
		{"HS256 signed with the RSA public key PEM", both, hs256(rs.PublicPEM(t), rs.ID), httpkit.CodeInvalidToken, "signature does not verify"},
		{"HS256 with public key PEM, JWKS only", jwksOnly, hs256(es.PublicPEM(t), es.ID), httpkit.CodeInvalidToken, "SUPABASE_JWT_SECRET is not set"},
		{"genuine HS256, JWKS only", jwksOnly, authtest.SignHS256(t, authtest.Secret, claims), httpkit.CodeInvalidToken, "legacy JWT secret"},
		{"ES256 header naming the RSA key", both, authtest.Sign(t, "ES256", es.Private, map[string]any{"kid": rs.ID}, claims), httpkit.CodeInvalidToken, "does not match"},
		{"RS256 header naming the EC key", both, authtest.Sign(t, "RS256", rs.Private, map[string]any{"kid": es.ID}, claims), httpkit.CodeInvalidToken, "does not match"},
		{"ES256 signed by another key under a known kid", both, esOther.Sign(t, claims), httpkit.CodeInvalidToken, "signature does not verify"},
		{"ES256 without kid", both, authtest.Sign(t, "ES256", es.Private, nil, claims), httpkit.CodeInvalidToken, "no key ID"},
		{"ES384", both, authtest.Sign(t, "ES384", es.Private, map[string]any{"kid": es.ID}, claims), httpkit.CodeInvalidToken, "not accepted"},
		{"PS256", both, authtest.Sign(t, "PS256", rs.Private, map[string]any{"kid": rs.ID}, claims), httpkit.CodeInvalidToken, "not accepted"},
		{"tampered ES256 payload", both, authtest.Tamper(t, es.Sign(t, claims), authtest.With(claims, map[string]any{"email": "eve@example.com"})), httpkit.CodeInvalidToken, "signature does not verify"},
		{"expired ES256", both, es.Sign(t, authtest.With(claims, map[string]any{"exp": clk.Now().Add(-time.Hour).Unix()})), httpkit.CodeTokenExpired, "Refresh the session"},
		{"ES256 of another project", both, es.Sign(t, authtest.With(claims, map[string]any{"iss": "https://other.supabase.co/auth/v1"})), httpkit.CodeInvalidToken, "iss does not match"},
		{"anon key signed with ES256", both, es.Sign(t, authtest.AnonKeyClaims("proj", clk.Now())), httpkit.CodeNotAUserToken, "anon key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.v.Verify(context.Background(), tt.token)
			checkErr(t, err, tt.code, tt.msg, tt.token)
		})
	}
}

func TestSecretOnlyRejectsAsymmetricTokens(t *testing.T) {
	clk := newClock()
	v, err := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	claims := authtest.UserClaims(authtest.NewUserID(t), "", "", clk.Now())
	tests := []struct {
		name string
		key  *authtest.Key
	}{
		{"ES256", authtest.NewES256Key(t, "es-1")},
		{"RS256", authtest.NewRS256Key(t, "rs-1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.key.Sign(t, claims)
			_, err := v.Verify(context.Background(), token)
			checkErr(t, err, httpkit.CodeInvalidToken, "SUPABASE_URL is not set", token)
		})
	}
}

func TestUnknownKid(t *testing.T) {
	clk := newClock()
	known := authtest.NewES256Key(t, "known")
	v, srv := jwksVerifier(t, clk, "", known)
	claims := authtest.UserClaims(authtest.NewUserID(t), "", srv.Issuer(), clk.Now())

	steps := []struct {
		name     string
		advance  time.Duration
		kid      string // "" signs with the known key
		requests int
	}{
		{"known kid fetches once", 0, "", 1},
		{"unknown kid refreshes once", time.Second, "stranger-1", 2},
		{"second unknown kid within the interval waits for the next slot and refreshes", 100 * time.Millisecond, "stranger-2", 3},
		{"known kid still served from the cache", time.Second, "", 3},
		{"malformed kid: no refresh", time.Second, "bad kid with spaces", 3},
		{"overlong kid: no refresh", time.Second, strings.Repeat("k", 129), 3},
		{"unknown kid after the interval refreshes at once", 2 * time.Second, "stranger-3", 4},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clk.Advance(s.advance)
			if s.kid == "" {
				verifyOK(t, v, known.Sign(t, claims))
			} else {
				token := authtest.NewES256Key(t, s.kid).Sign(t, claims)
				_, err := v.Verify(context.Background(), token)
				checkErr(t, err, httpkit.CodeInvalidToken, "not among the project's published signing keys", token)
			}
			wantRequests(t, srv, s.requests)
		})
	}
}

func TestUnknownKidOnFirstFetch(t *testing.T) {
	clk := newClock()
	v, srv := jwksVerifier(t, clk, "", authtest.NewES256Key(t, "known"))
	tests := []struct {
		name     string
		advance  time.Duration
		requests int
	}{
		{"first fetch is not followed by a refresh", 0, 1},
		{"refresh for the unknown kid", 0, 1 + 1},
		{"at most one refresh per interval", auth.UnknownKidInterval, 3},
	}
	token := authtest.NewES256Key(t, "stranger").Sign(t, authtest.UserClaims(authtest.NewUserID(t), "", srv.Issuer(), clk.Now()))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			_, err := v.Verify(context.Background(), token)
			checkErr(t, err, httpkit.CodeInvalidToken, "not among", token)
			wantRequests(t, srv, tt.requests)
		})
	}
}

func TestKidRotation(t *testing.T) {
	clk := newClock()
	oldKey := authtest.NewES256Key(t, "key-2025")
	newKey := authtest.NewRS256Key(t, "key-2026")
	v, srv := jwksVerifier(t, clk, "", oldKey)
	claims := authtest.UserClaims(authtest.NewUserID(t), "", srv.Issuer(), clk.Now())

	steps := []struct {
		name     string
		before   func()
		key      *authtest.Key
		code     string
		requests int
	}{
		{"old key", nil, oldKey, "", 1},
		{"new key picked up by the unknown-kid refresh", func() { srv.AddKey(newKey) }, newKey, "", 2},
		{"new key then cached", nil, newKey, "", 2},
		{"old key still valid", nil, oldKey, "", 2},
		{"old key revoked: rejected after the TTL", func() { srv.SetKeys(newKey); clk.Advance(11 * time.Minute) }, oldKey, httpkit.CodeInvalidToken, 3},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			token := s.key.Sign(t, authtest.With(claims, map[string]any{"exp": clk.Now().Add(time.Hour).Unix()}))
			_, err := v.Verify(context.Background(), token)
			if s.code == "" && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if s.code != "" {
				checkErr(t, err, s.code, "not among", token)
			}
			wantRequests(t, srv, s.requests)
		})
	}
}

func TestJWKSUnavailable(t *testing.T) {
	clk := newClock()
	key := authtest.NewES256Key(t, "es-1")
	v, srv := jwksVerifier(t, clk, "", key)
	claims := authtest.UserClaims(authtest.NewUserID(t), "", srv.Issuer(), clk.Now())

	steps := []struct {
		name       string
		before     func()
		unknownKid bool
		status     int // 0: accepted
		requests   int
	}{
		{"endpoint down on first need: 503", func() { srv.FailWith(http.StatusBadGateway) }, false, http.StatusServiceUnavailable, 1},
		{"no refetch within the backoff", func() { srv.FailWith(0); clk.Advance(time.Second) }, false, http.StatusServiceUnavailable, 1},
		{"recovers after the backoff", func() { clk.Advance(5 * time.Second) }, false, 0, 2},
		{"stale keys kept when a refetch fails", func() { srv.FailWith(http.StatusInternalServerError); clk.Advance(11 * time.Minute) }, false, 0, 3},
		{"unknown kid while down: 503, not invalid_token", func() { clk.Advance(time.Minute) }, true, http.StatusServiceUnavailable, 4},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.before()
			c := authtest.With(claims, map[string]any{"exp": clk.Now().Add(time.Hour).Unix()})
			signer := key
			if s.unknownKid {
				signer = authtest.NewES256Key(t, "new-key")
			}
			_, err := v.Verify(context.Background(), signer.Sign(t, c))
			if s.status == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
			} else if e := httpkit.AsError(err); err == nil || e.Status != s.status || e.Code != httpkit.CodeUnavailable {
				t.Fatalf("err = %v, want %d %s", err, s.status, httpkit.CodeUnavailable)
			}
			wantRequests(t, srv, s.requests)
		})
	}
}

func TestJWKSConcurrentUnknownKids(t *testing.T) {
	clk := newClock()
	v, srv := jwksVerifier(t, clk, "", authtest.NewES256Key(t, "known"))
	claims := authtest.UserClaims(authtest.NewUserID(t), "", srv.Issuer(), clk.Now())
	tokens := make([]string, 32)
	for i := range tokens {
		tokens[i] = authtest.NewES256Key(t, fmt.Sprintf("flood-%d", i)).Sign(t, claims)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(tokens))
	for i, token := range tokens {
		wg.Go(func() { _, errs[i] = v.Verify(context.Background(), token) })
	}
	wg.Wait()
	for i, err := range errs {
		t.Run(fmt.Sprintf("token %d", i), func(t *testing.T) {
			checkErr(t, err, httpkit.CodeInvalidToken, "not among", tokens[i])
		})
	}
	// The first fetch, one refresh at once, and one at the next slot for
	// the tokens that arrived while that refresh was under way (they may
	// carry a key published a moment ago): never one per token.
	if got := srv.Requests(); got > 3 {
		t.Errorf("JWKS requests = %d for a flood of unknown kids, want at most 3", got)
	}
}
