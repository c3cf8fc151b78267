package attacks

import (
	"crypto/ecdsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/check-subscription/checksub"
	"billing/functions/create-checkout-session/checkout"
	"billing/functions/create-portal-session/portal"
	"billing/functions/resume-subscription/resumesub"
	"billing/internal/stripetest/fntest"
	"billing/shared/auth/authtest"
	"billing/shared/function"
	"billing/shared/httpkit"
)

// userFunctions are the functions a signed-in user calls.
var userFunctions = []function.Spec{checkout.Spec, cancelsub.Spec, resumesub.Spec, portal.Spec, checksub.Spec}

// TestTokensThatAreNotAUsersSession: the project's API keys, unsigned and
// forged tokens, expired ones and ones issued in the future, at every user
// function; each is a 401 that says what is wrong, and no Stripe call.
func TestTokensThatAreNotAUsersSession(t *testing.T) {
	for _, spec := range userFunctions {
		t.Run(spec.Name, func(t *testing.T) {
			// The REST data path, as on Lambda: SUPABASE_URL is set, so
			// the issuer is checked too.
			e := track(fntest.Start(t, spec, fntest.Options{Path: "rest"}))
			user := e.DB.CreateUser(t, "")
			now := time.Now()
			claims := authtest.UserClaims(user, "victim@example.com", e.Config.Issuer(), now)
			es := authtest.NewES256Key(t, "attacker-key")
			tests := []struct {
				name, token, code string
			}{
				{"anon key", authtest.SignHS256(t, fntest.Secret, authtest.AnonKeyClaims("ref", now)), httpkit.CodeNotAUserToken},
				{"service_role key", authtest.SignHS256(t, fntest.Secret, authtest.ServiceRoleKeyClaims("ref", now)), httpkit.CodeNotAUserToken},
				{"role service_role in a user token", authtest.SignHS256(t, fntest.Secret, authtest.With(claims, map[string]any{"role": "service_role"})), httpkit.CodeNotAUserToken},
				{"new-style secret key", "sb_secret_abcdefghijklmnop", httpkit.CodeNotAUserToken},
				{"alg none", authtest.Unsigned(t, claims), httpkit.CodeInvalidToken},
				{"alg none with an HS256 signature", authtest.Encode(t, map[string]any{"alg": "none"}, claims, []byte("sig")), httpkit.CodeInvalidToken},
				// The REST stand-in serves no JWKS: the key cannot be
				// looked up, which is a 503, never an accepted token.
				{"ES256 with a key of the attacker", authtest.SignES256(t, es.Private.(*ecdsa.PrivateKey), es.ID, claims), httpkit.CodeUnavailable},
				{"HS256 signed with the attacker's public key (key confusion)", authtest.Sign(t, "HS256", es.PublicPEM(t), map[string]any{"kid": es.ID}, claims), httpkit.CodeInvalidToken},
				{"HS256 signed with another secret", authtest.UserToken(t, "another-secret-of-at-least-32-characters!", user, "x@example.com"), httpkit.CodeInvalidToken},
				{"claims changed after signing", authtest.Tamper(t, authtest.SignHS256(t, fntest.Secret, claims), authtest.With(claims, map[string]any{"sub": e.DB.CreateUser(t, "")})), httpkit.CodeInvalidToken},
				{"expired", authtest.SignHS256(t, fntest.Secret, authtest.With(claims, map[string]any{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()})), httpkit.CodeTokenExpired},
				{"issued far in the future", authtest.SignHS256(t, fntest.Secret, authtest.With(claims, map[string]any{"iat": now.Add(24 * time.Hour).Unix(), "exp": now.Add(25 * time.Hour).Unix()})), httpkit.CodeInvalidToken},
				{"not yet valid", authtest.SignHS256(t, fntest.Secret, authtest.With(claims, map[string]any{"nbf": now.Add(time.Hour).Unix()})), httpkit.CodeInvalidToken},
				{"another project's issuer", authtest.SignHS256(t, fntest.Secret, authtest.With(claims, map[string]any{"iss": "https://evil.supabase.co/auth/v1"})), httpkit.CodeInvalidToken},
				{"sub not a UUID", authtest.SignHS256(t, fntest.Secret, authtest.With(claims, map[string]any{"sub": "' or 1=1 --"})), httpkit.CodeInvalidToken},
				{"huge token", strings.Repeat("a", 20000) + "." + strings.Repeat("b", 20000) + ".c", httpkit.CodeInvalidToken},
				{"no token", "", httpkit.CodeMissingToken},
			}
			method := http.MethodPost
			if spec.Name == checksub.Name {
				method = http.MethodGet
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e.Proxy.Reset()
					res, body := do(t, request{method: method, url: e.URL, token: tt.token, body: `{}`})
					status := http.StatusUnauthorized
					if tt.code == httpkit.CodeUnavailable {
						status = http.StatusServiceUnavailable
					}
					wantError(t, res, body, status, tt.code)
					if n := len(e.Proxy.Requests("", "")); n != 0 {
						t.Fatalf("%d Stripe calls for a refused token", n)
					}
				})
			}
		})
	}
}
