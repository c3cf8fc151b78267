// Package authtest mints real Supabase-shaped access tokens for tests: HS256
// tokens signed with a test JWT secret, ES256 and RS256 tokens signed with
// freshly generated keys and served from an httptest JWKS endpoint, and
// deliberately broken tokens (alg none, tampered claims, arbitrary headers)
// for negative tests.
//
// A handler test usually needs only
//
//	v, _ := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret})
//	token := authtest.UserToken(t, authtest.Secret, authtest.NewUserID(t), "a@example.com")
//	req.Header.Set("Authorization", "Bearer "+token)
package authtest

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"billing/shared/auth"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Secret is a JWT secret for tests; it is the one `supabase start` uses
// locally, so it is public and only fit for tests and local development.
const Secret = "super-secret-jwt-token-with-at-least-32-characters-long"

// NewUserID returns a random user ID (a UUID), as Supabase Auth assigns.
func NewUserID(t testing.TB) string {
	t.Helper()
	return auth.NewUUID()
}

// UserToken mints a valid HS256 access token for the user, valid for an
// hour and without "iss" (for a Verifier without SupabaseURL).
func UserToken(t testing.TB, secret, userID, email string) string {
	t.Helper()
	return Mint(t, secret, auth.MintClaims{UserID: userID, Email: email})
}

// Mint is auth.Mint that fails the test on error.
func Mint(t testing.TB, secret string, c auth.MintClaims) string {
	t.Helper()
	token, err := auth.Mint(secret, c)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return token
}

// UserClaims returns the claims Supabase Auth puts in a signed-in user's
// access token, issued at now and expiring an hour later. issuer "" leaves
// out "iss". Tests change or delete entries to build broken tokens.
func UserClaims(userID, email, issuer string, now time.Time) map[string]any {
	c := map[string]any{
		"sub":          userID,
		"email":        email,
		"phone":        "",
		"aud":          "authenticated",
		"role":         "authenticated",
		"iat":          now.Unix(),
		"exp":          now.Add(time.Hour).Unix(),
		"session_id":   auth.NewUUID(),
		"is_anonymous": false,
		"aal":          "aal1",
		"amr":          []map[string]any{{"method": "password", "timestamp": now.Unix()}},
		"app_metadata": map[string]any{"provider": "email", "providers": []string{"email"}},
		"user_metadata": map[string]any{
			"email": email, "email_verified": true, "sub": userID,
		},
	}
	if issuer != "" {
		c["iss"] = issuer
	}
	return c
}

// AnonKeyClaims returns the claims of a project's legacy anon key, the JWT
// the React app sends as Bearer when it has no session:
// {"iss":"supabase","ref":ref,"role":"anon","iat":...,"exp":...}.
func AnonKeyClaims(ref string, now time.Time) map[string]any {
	return apiKeyClaims(ref, "anon", now)
}

// ServiceRoleKeyClaims returns the claims of a project's legacy
// service_role key.
func ServiceRoleKeyClaims(ref string, now time.Time) map[string]any {
	return apiKeyClaims(ref, "service_role", now)
}

func apiKeyClaims(ref, role string, now time.Time) map[string]any {
	return map[string]any{
		"iss":  "supabase",
		"ref":  ref,
		"role": role,
		"iat":  now.Unix(),
		"exp":  now.AddDate(10, 0, 0).Unix(),
	}
}

// Sign signs claims with key under alg (e.g. "HS256" with a []byte key,
// "ES256" with an *ecdsa.PrivateKey, "RS256" with an *rsa.PrivateKey) and
// returns the compact JWT. header adds protected header fields such as
// "kid"; "typ" defaults to "JWT" and "alg" is always alg.
func Sign(t testing.TB, alg string, key any, header, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("authtest: claims: %v", err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		t.Fatalf("authtest: header: %v", err)
	}
	for k, v := range header {
		if k == jws.AlgorithmKey {
			continue
		}
		if err := hdr.Set(k, v); err != nil {
			t.Fatalf("authtest: header %q: %v", k, err)
		}
	}
	signed, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatalf("authtest: sign %s: %v", alg, err)
	}
	return string(signed)
}

// SignHS256 signs claims with secret, as Supabase Auth does with the
// project's legacy JWT secret.
func SignHS256(t testing.TB, secret string, claims map[string]any) string {
	t.Helper()
	return Sign(t, "HS256", []byte(secret), nil, claims)
}

// Encode builds a compact JWT from header and claims marshalled as JSON and
// the given raw signature bytes, without signing anything: Encode(t,
// {"alg":"none"}, claims, nil) is an unsigned token.
func Encode(t testing.TB, header, claims map[string]any, signature []byte) string {
	t.Helper()
	return segment(t, header) + "." + segment(t, claims) + "." +
		base64.RawURLEncoding.EncodeToString(signature)
}

// Unsigned returns an "alg: none" token carrying claims.
func Unsigned(t testing.TB, claims map[string]any) string {
	t.Helper()
	return Encode(t, map[string]any{"alg": "none", "typ": "JWT"}, claims, nil)
}

// Tamper returns token with its claims replaced by claims and its header
// and signature kept: the signature is genuine, but over other claims.
func Tamper(t testing.TB, token string, claims map[string]any) string {
	t.Helper()
	segs := strings.Split(token, ".")
	if len(segs) != 3 {
		t.Fatalf("authtest: Tamper: not a compact JWT")
	}
	return segs[0] + "." + segment(t, claims) + "." + segs[2]
}

// With returns a copy of claims with the entries of set applied; a nil
// value deletes the entry.
func With(claims map[string]any, set map[string]any) map[string]any {
	c := maps.Clone(claims)
	for k, v := range set {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func segment(t testing.TB, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
