package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/httpkit"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// rawJWK turns a raw key into a JWK with the given fields set.
func rawJWK(t *testing.T, raw any, fields map[string]any) jwk.Key {
	t.Helper()
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range fields {
		if err := k.Set(name, v); err != nil {
			t.Fatalf("set %s: %v", name, err)
		}
	}
	return k
}

// TestJWKSKeyPinning serves a JWKS holding keys that must never verify a
// token: a symmetric key, keys whose published alg does not fit them,
// other curves, weak RSA, encryption keys, and a key without kid.
func TestJWKSKeyPinning(t *testing.T) {
	ec256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good := authtest.NewES256Key(t, "good")
	octSecret := []byte("a-symmetric-key-published-in-the-jwks!")

	set := jwk.NewSet()
	for _, k := range []jwk.Key{
		good.PublicJWK(t),
		rawJWK(t, octSecret, map[string]any{"kid": "oct", "alg": "HS256"}),
		rawJWK(t, ec256.Public(), map[string]any{"kid": "ec-says-rs256", "alg": "RS256"}),
		rawJWK(t, ec384.Public(), map[string]any{"kid": "p384"}),
		rawJWK(t, rsa1024.Public(), map[string]any{"kid": "rsa-1024", "alg": "RS256"}),
		rawJWK(t, ec256.Public(), map[string]any{"kid": "enc", "use": "enc"}),
		rawJWK(t, ec256.Public(), nil),
	} {
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	defer srv.Close()

	clk := newClock()
	v, err := auth.NewVerifier(auth.Config{SupabaseURL: "https://proj.supabase.co", JWKSURL: srv.URL + "/keys", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	claims := authtest.UserClaims(authtest.NewUserID(t), "", testIssuer, clk.Now())
	sign := func(alg string, key any, kid string) string {
		return authtest.Sign(t, alg, key, map[string]any{"kid": kid}, claims)
	}

	tests := []struct {
		name  string
		token string
		code  string // "" means accepted
		msg   string
	}{
		{"well-formed ES256 key works", good.Sign(t, claims), "", ""},
		{"symmetric key in the JWKS", sign("HS256", octSecret, "oct"), httpkit.CodeInvalidToken, "legacy JWT secret"},
		{"EC key published as RS256, token ES256", sign("ES256", ec256, "ec-says-rs256"), httpkit.CodeInvalidToken, "not among"},
		{"P-384 key", sign("ES384", ec384, "p384"), httpkit.CodeInvalidToken, "not accepted"},
		{"P-384 key with ES256 header", sign("ES256", ec256, "p384"), httpkit.CodeInvalidToken, "not among"},
		{"RSA key under 2048 bits", sign("RS256", rsa1024, "rsa-1024"), httpkit.CodeInvalidToken, "not among"},
		{"encryption key", sign("ES256", ec256, "enc"), httpkit.CodeInvalidToken, "not among"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.token)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			checkErr(t, err, tt.code, tt.msg, tt.token)
		})
	}
	if got := requests.Load(); got != 1 {
		t.Errorf("JWKS requests = %d, want 1 (kids the JWKS publishes with refused keys cause no refresh)", got)
	}
}
