package fuzz

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/httpkit"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

func fuzzVerifier(f *testing.F) *auth.Verifier {
	v, err := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret, SupabaseURL: "https://proj.supabase.co"})
	if err != nil {
		f.Fatal(err)
	}
	return v
}

// checkVerdict fails t when Verify accepted a token it must not, or
// answered with anything but a 401 (or a 503 for the JWKS).
func checkVerdict(t *testing.T, token string, u auth.User, err error) {
	t.Helper()
	if err != nil {
		if e := httpkit.AsError(err); e.Status != 401 && e.Status != 503 {
			t.Fatalf("rejection %d %s: %v", e.Status, e.Code, err)
		}
		if e := httpkit.AsError(err); len(token) > 20 && strings.Contains(e.Message, token) {
			t.Fatal("the message repeats the token")
		}
		return
	}
	// Accepted: it must be HS256-signed with the secret, for a user.
	if _, verr := jws.Verify([]byte(strings.TrimSpace(token)), jws.WithKey(jwa.HS256, []byte(authtest.Secret))); verr != nil {
		t.Fatalf("accepted a token the secret did not sign: %q", token)
	}
	if u.Role != auth.RoleAuthenticated || len(u.ID) != 36 {
		t.Fatalf("accepted a token that is not a user's: %+v", u)
	}
}

// FuzzVerifyToken feeds whole token strings (any bytes, any size).
func FuzzVerifyToken(f *testing.F) {
	v := fuzzVerifier(f)
	now := time.Now()
	claims := authtest.UserClaims("8a5c3e52-1f0b-4c9e-9d3a-2b6f7e8d9c01", "u@example.com", v.Issuer(), now)
	f.Add(authtest.SignHS256(f, authtest.Secret, claims))
	f.Add(authtest.Unsigned(f, claims))
	f.Add(authtest.SignHS256(f, authtest.Secret, authtest.AnonKeyClaims("ref", now)))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		u, err := v.Verify(context.Background(), token)
		checkVerdict(t, token, u, err)
	})
}

// FuzzVerifyClaims signs a fuzzed header and fuzzed claims with the real
// secret: only the claim checks stand between them and an accepted user.
func FuzzVerifyClaims(f *testing.F) {
	v := fuzzVerifier(f)
	now := time.Now()
	good, _ := json.Marshal(authtest.UserClaims("8a5c3e52-1f0b-4c9e-9d3a-2b6f7e8d9c01", "u@example.com", v.Issuer(), now))
	f.Add([]byte(`{"alg":"HS256","typ":"JWT"}`), good)
	f.Add([]byte(`{"alg":"HS256","crit":["exp"]}`), good)
	f.Add([]byte(`{"alg":"none"}`), []byte(`{"role":"service_role"}`))
	f.Fuzz(func(t *testing.T, header, claims []byte) {
		enc := base64.RawURLEncoding
		signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
		mac := hs256(signingInput)
		token := signingInput + "." + enc.EncodeToString(mac)
		u, err := v.Verify(context.Background(), token)
		if err != nil {
			checkVerdict(t, token, u, err)
			return
		}
		var c map[string]any
		if json.Unmarshal(claims, &c) != nil {
			t.Fatalf("accepted claims that are not a JSON object: %q", claims)
		}
		exp, _ := c["exp"].(float64)
		if c["role"] != auth.RoleAuthenticated || exp < float64(time.Now().Add(-time.Minute).Unix()) || c["iss"] != v.Issuer() {
			t.Fatalf("accepted claims %s", claims)
		}
	})
}
