package auth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/httpkit"
)

const (
	testProject = "https://proj.supabase.co"
	testIssuer  = testProject + "/auth/v1"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// checkErr fails unless err is a 401 *httpkit.Error with code whose message
// contains msg and does not repeat token.
func checkErr(t *testing.T, err error, code, msg, token string) {
	t.Helper()
	var e *httpkit.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *httpkit.Error with code %s", err, err, code)
	}
	if e.Status != http.StatusUnauthorized || e.Code != code {
		t.Fatalf("got %d %s (%q), want 401 %s", e.Status, e.Code, e.Message, code)
	}
	if !strings.Contains(e.Message, msg) {
		t.Errorf("message %q does not contain %q", e.Message, msg)
	}
	if len(token) > 20 && strings.Contains(e.Message, token) {
		t.Errorf("message repeats the token: %q", e.Message)
	}
}

func TestVerifyHS256(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	v, err := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret, SupabaseURL: testProject, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	uid := authtest.NewUserID(t)
	base := authtest.UserClaims(uid, "ann@example.com", testIssuer, now)
	sign := func(set map[string]any) string {
		return authtest.SignHS256(t, authtest.Secret, authtest.With(base, set))
	}
	valid := sign(nil)
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }

	tests := []struct {
		name  string
		token string
		code  string // "" means the token is accepted
		msg   string
	}{
		{"valid", valid, "", ""},
		{"anonymous user", sign(map[string]any{"is_anonymous": true, "email": nil}), "", ""},
		{"aud list containing authenticated", sign(map[string]any{"aud": []string{"x", "authenticated"}}), "", ""},
		{"expired", sign(map[string]any{"exp": at(-time.Hour)}), httpkit.CodeTokenExpired, "Refresh the session"},
		{"expired just beyond leeway", sign(map[string]any{"exp": at(-31 * time.Second)}), httpkit.CodeTokenExpired, "expired"},
		{"expired within leeway", sign(map[string]any{"exp": at(-20 * time.Second)}), "", ""},
		{"not yet valid", sign(map[string]any{"nbf": at(5 * time.Minute)}), httpkit.CodeInvalidToken, "not valid yet"},
		{"nbf within leeway", sign(map[string]any{"nbf": at(20 * time.Second)}), "", ""},
		{"issued in the future", sign(map[string]any{"iat": at(5 * time.Minute)}), httpkit.CodeInvalidToken, "issued in the future"},
		{"no exp", sign(map[string]any{"exp": nil}), httpkit.CodeInvalidToken, "no expiry"},
		{"wrong audience", sign(map[string]any{"aud": "service"}), httpkit.CodeInvalidToken, "audience"},
		{"no audience", sign(map[string]any{"aud": nil}), httpkit.CodeInvalidToken, "audience"},
		{"wrong issuer", sign(map[string]any{"iss": "https://other.supabase.co/auth/v1"}), httpkit.CodeInvalidToken, "iss does not match"},
		{"no issuer", sign(map[string]any{"iss": nil}), httpkit.CodeInvalidToken, "iss does not match"},
		{"anon key", authtest.SignHS256(t, authtest.Secret, authtest.AnonKeyClaims("proj", now)), httpkit.CodeNotAUserToken, "anon key"},
		{"anon key of another project", authtest.SignHS256(t, "another-secret-another-secret-another", authtest.AnonKeyClaims("other", now)), httpkit.CodeNotAUserToken, "anon key"},
		{"service_role key", authtest.SignHS256(t, authtest.Secret, authtest.ServiceRoleKeyClaims("proj", now)), httpkit.CodeNotAUserToken, "service_role key"},
		{"other role", sign(map[string]any{"role": "supabase_admin"}), httpkit.CodeNotAUserToken, `role is not "authenticated"`},
		{"no role", sign(map[string]any{"role": nil}), httpkit.CodeNotAUserToken, `role is not "authenticated"`},
		{"no role and no sub", sign(map[string]any{"role": nil, "sub": nil}), httpkit.CodeNotAUserToken, "not a signed-in user's access token"},
		{"missing sub", sign(map[string]any{"sub": nil}), httpkit.CodeInvalidToken, "missing sub"},
		{"sub not a UUID", sign(map[string]any{"sub": "user-123"}), httpkit.CodeInvalidToken, "UUID"},
		{"sub not a string", sign(map[string]any{"sub": 123}), httpkit.CodeInvalidToken, "claims"},
		{"wrong secret", authtest.SignHS256(t, "not-the-project-secret-not-the-secret", base), httpkit.CodeInvalidToken, "signature does not verify"},
		{"tampered payload", authtest.Tamper(t, valid, authtest.With(base, map[string]any{"sub": authtest.NewUserID(t)})), httpkit.CodeInvalidToken, "signature does not verify"},
		{"tampered role", authtest.Tamper(t, sign(map[string]any{"role": "anon_user"}), base), httpkit.CodeInvalidToken, "signature does not verify"},
		{"alg none", authtest.Unsigned(t, base), httpkit.CodeInvalidToken, `alg "none"`},
		{"alg none with a signature", authtest.Encode(t, map[string]any{"alg": "none"}, base, []byte("sig")), httpkit.CodeInvalidToken, `alg "none"`},
		{"no alg", authtest.Encode(t, map[string]any{"typ": "JWT"}, base, []byte("sig")), httpkit.CodeInvalidToken, `alg "none"`},
		{"HS512 with the secret", authtest.Sign(t, "HS512", []byte(authtest.Secret), nil, base), httpkit.CodeInvalidToken, "algorithm that is not accepted"},
		{"crit header", authtest.Sign(t, "HS256", []byte(authtest.Secret), map[string]any{"crit": []string{"exp"}, "exp": 1}, base), httpkit.CodeInvalidToken, "well-formed"},
		{"sb_publishable key", "sb_publishable_Qk1ZfJ3n0AbCdEfGhIjKlM_x1y2z3", httpkit.CodeNotAUserToken, "publishable API key"},
		{"sb_secret key", "sb_secret_Qk1ZfJ3n0AbCdEfGhIjKlM_x1y2z3abc", httpkit.CodeNotAUserToken, "secret API key"},
		{"empty", "", httpkit.CodeMissingToken, "No access token"},
		{"undefined", "undefined", httpkit.CodeMissingToken, `"undefined"`},
		{"null", "null", httpkit.CodeMissingToken, `"null"`},
		{"garbage", "not-a-jwt-at-all-but-long-enough", httpkit.CodeInvalidToken, "well-formed"},
		{"two segments", strings.Join(strings.Split(valid, ".")[:2], "."), httpkit.CodeInvalidToken, "well-formed"},
		{"four segments", valid + ".x", httpkit.CodeInvalidToken, "well-formed"},
		{"header not base64url", "!!!" + valid[3:], httpkit.CodeInvalidToken, "well-formed"},
		{"header not JSON", "bm90IGpzb24." + strings.SplitN(valid, ".", 2)[1], httpkit.CodeInvalidToken, "well-formed"},
		{"claims not an object", authtest.Encode(t, map[string]any{"alg": "HS256"}, nil, []byte("s")), httpkit.CodeInvalidToken, "well-formed"},
		{"JSON serialization", `{"payload":"e30","signatures":[{"protected":"e30","signature":"e30"}]}`, httpkit.CodeInvalidToken, "well-formed"},
		{"far too long", valid + strings.Repeat("A", 20000), httpkit.CodeInvalidToken, "longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := v.Verify(context.Background(), tt.token)
			if tt.code != "" {
				checkErr(t, err, tt.code, tt.msg, tt.token)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if u.ID != uid || u.Role != auth.RoleAuthenticated {
				t.Errorf("user = %+v, want ID %s and role authenticated", u, uid)
			}
		})
	}
}

func TestVerifyReturnsUser(t *testing.T) {
	clk := newClock()
	v, err := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	uid := authtest.NewUserID(t)
	claims := authtest.UserClaims(uid, "ann@example.com", "", clk.Now())
	anon := authtest.With(claims, map[string]any{"is_anonymous": true, "email": ""})
	upper := authtest.With(claims, map[string]any{"sub": strings.ToUpper(uid)})
	tests := []struct {
		name   string
		claims map[string]any
		want   auth.User
	}{
		{"signed-in user", claims, auth.User{ID: uid, Email: "ann@example.com", Role: "authenticated",
			SessionID: claims["session_id"].(string)}},
		{"anonymous user", anon, auth.User{ID: uid, Role: "authenticated",
			SessionID: claims["session_id"].(string), IsAnonymous: true}},
		{"upper-case sub is normalised", upper, auth.User{ID: uid, Email: "ann@example.com", Role: "authenticated",
			SessionID: claims["session_id"].(string)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), authtest.SignHS256(t, authtest.Secret, tt.claims))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tt.want {
				t.Errorf("user = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVerifyWithoutIssuerCheck(t *testing.T) {
	clk := newClock()
	v, err := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	uid := authtest.NewUserID(t)
	tests := []struct {
		name   string
		issuer string
	}{
		{"no iss", ""},
		{"any iss", "https://elsewhere.example/auth/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := authtest.SignHS256(t, authtest.Secret, authtest.UserClaims(uid, "", tt.issuer, clk.Now()))
			if _, err := v.Verify(context.Background(), token); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.Issuer() != "" {
				t.Errorf("Issuer() = %q, want empty without SupabaseURL", v.Issuer())
			}
		})
	}
}
