// Package auth verifies Supabase Auth access tokens, the JWTs that a React
// app gets from supabase.auth.getSession() and sends as
// "Authorization: Bearer <access_token>".
//
// Tokens signed with the project's legacy shared secret (HS256,
// SUPABASE_JWT_SECRET) and tokens signed with the project's asymmetric
// signing keys (ES256 or RS256, published at
// ${SUPABASE_URL}/auth/v1/.well-known/jwks.json) are both accepted. Each key
// verifies only with its own algorithm, so "alg: none" and algorithm
// confusion (an HS256 token "signed" with a public key) always fail.
//
// Every rejection is an *httpkit.Error with status 401 and one of the codes
// missing_token, invalid_token, token_expired or not_a_user_token, and a
// message that says exactly what is wrong with the token, because a missing,
// stale or wrong token is the most common integration bug. Messages never
// repeat the token. A JWKS endpoint that cannot be reached is a 503
// unavailable instead, so that clients do not sign the user out for an outage
// of ours.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"billing/shared/outbound"
)

// Claim values every Supabase user access token carries.
const (
	// Audience is the "aud" of user access tokens.
	Audience = "authenticated"
	// RoleAuthenticated is the "role" of a signed-in user's access token.
	RoleAuthenticated = "authenticated"
	// RoleAnon is the "role" of the project's anon key.
	RoleAnon = "anon"
	// RoleServiceRole is the "role" of the project's service_role key.
	RoleServiceRole = "service_role"
)

// DefaultLeeway is the clock skew allowed on exp, nbf and iat when
// Config.Leeway is zero.
const DefaultLeeway = 30 * time.Second

// JWKSPath is where Supabase Auth publishes the project's public signing
// keys, relative to SUPABASE_URL.
const JWKSPath = "/auth/v1/.well-known/jwks.json"

// Config configures a Verifier. At least one of JWTSecret, SupabaseURL and
// JWKSURL must be set.
type Config struct {
	// JWTSecret is the project's legacy HS256 secret (SUPABASE_JWT_SECRET).
	// Empty means HS256 tokens are rejected and only JWKS keys are used.
	JWTSecret string
	// SupabaseURL is the project URL, e.g. https://abc.supabase.co. When set,
	// the token's "iss" must be SupabaseURL+"/auth/v1", and the JWKS is read
	// from SupabaseURL+JWKSPath unless JWKSURL overrides it.
	SupabaseURL string
	// JWKSURL overrides the JWKS location.
	JWKSURL string
	// HTTPClient fetches the JWKS; nil means a client with a 10s timeout.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp, nbf and iat; zero means
	// DefaultLeeway.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
	// Admit, when set, is asked by FromRequest about every user whose
	// token verified; its error is FromRequest's answer. The functions use
	// it for the per-user rate limit (see shared/ratelimit).
	Admit func(ctx context.Context, u User) error
	// TokenCacheTTL is how long a verified token's user is remembered at
	// most (never past the token's exp); zero means DefaultTokenCacheTTL,
	// a negative value turns the cache off. Admit runs on every request
	// all the same.
	TokenCacheTTL time.Duration
}

// User is the signed-in user a verified access token names.
type User struct {
	// ID is the Supabase user ID (the token's "sub"), a UUID.
	ID string
	// Email is the user's email address; empty for anonymous users.
	Email string
	// Role is the token's role; always "authenticated" for a verified user.
	Role string
	// SessionID is the Supabase Auth session the token belongs to.
	SessionID string
	// IsAnonymous is true for users created by signInAnonymously.
	IsAnonymous bool
}

// Verifier checks Supabase access tokens. It is safe for concurrent use; one
// Verifier per process is enough, and it shares its JWKS cache between
// requests.
type Verifier struct {
	secret []byte
	issuer string
	jwks   *jwksCache
	leeway time.Duration
	now    func() time.Time
	admit  func(ctx context.Context, u User) error
	cache  *tokenCache
}

// NewVerifier checks cfg and returns a Verifier. It does not fetch the JWKS:
// that happens on the first token that needs it, so functions start fast.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Leeway < 0 {
		return nil, errors.New("auth: Leeway must not be negative")
	}
	v := &Verifier{leeway: cfg.Leeway, now: cfg.Now, admit: cfg.Admit, cache: newTokenCache(cfg.TokenCacheTTL)}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	if v.now == nil {
		v.now = time.Now
	}
	if cfg.JWTSecret != "" {
		v.secret = []byte(cfg.JWTSecret)
	}
	jwksURL := cfg.JWKSURL
	if cfg.SupabaseURL != "" {
		base, err := checkURL("SUPABASE_URL", cfg.SupabaseURL)
		if err != nil {
			return nil, err
		}
		v.issuer = base + "/auth/v1"
		if jwksURL == "" {
			jwksURL = base + JWKSPath
		}
	}
	if jwksURL != "" {
		u, err := checkURL("JWKS URL", jwksURL)
		if err != nil {
			return nil, err
		}
		client := cfg.HTTPClient
		if client == nil {
			client = outbound.Client(10 * time.Second)
		}
		v.jwks = newJWKSCache(u, client, v.now)
	}
	if v.secret == nil && v.jwks == nil {
		return nil, errors.New("auth: set SUPABASE_JWT_SECRET or SUPABASE_URL: no key is configured to verify access tokens")
	}
	return v, nil
}

// checkURL returns raw without a trailing slash if it is an absolute http(s)
// URL, and an error naming what is wrong otherwise.
func checkURL(name, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("auth: %s must be an absolute http(s) URL like https://abc.supabase.co, got %q", name, raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// Issuer returns the "iss" every token must carry, or "" when SupabaseURL is
// not configured and the issuer is not checked.
func (v *Verifier) Issuer() string { return v.issuer }

// FromRequest verifies the token in the request's
// "Authorization: Bearer <token>" header (the scheme is case-insensitive) and
// returns its user. The apikey header that supabase-js also sends is ignored.
func (v *Verifier) FromRequest(r *http.Request) (User, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return User{}, missingToken(msgNoHeader)
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return User{}, invalidToken(msgBadScheme, nil)
	}
	token := strings.TrimSpace(rest)
	if token == "" {
		return User{}, missingToken(msgEmptyBearer)
	}
	u, err := v.Verify(r.Context(), token)
	if err != nil {
		return User{}, err
	}
	if v.admit != nil {
		if err := v.admit(r.Context(), u); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// Verify checks token and returns the signed-in user it names. Errors are
// *httpkit.Error values: 401 with missing_token, invalid_token,
// token_expired or not_a_user_token, or 503 unavailable when the JWKS cannot
// be fetched.
//
// The project's API keys (sb_publishable_..., sb_secret_..., and the legacy
// anon and service_role JWTs) are recognised before any signature check and
// answered with not_a_user_token; that answer only ever rejects.
func (v *Verifier) Verify(ctx context.Context, token string) (User, error) {
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return User{}, missingToken(msgEmptyToken)
	case token == "undefined" || token == "null":
		return User{}, missingToken(msgPlaceholder)
	case strings.HasPrefix(token, "sb_publishable_"):
		return User{}, notAUserToken(msgPublishableKey)
	case strings.HasPrefix(token, "sb_secret_"):
		return User{}, notAUserToken(msgSecretKey)
	case len(token) > maxTokenLen:
		return User{}, invalidToken(msgTooLong, nil)
	}
	now := v.now()
	if u, ok := v.cache.get(token, now); ok {
		return u, nil
	}
	parts, err := split(token)
	if err != nil {
		return User{}, invalidToken(msgMalformed, err)
	}
	// The legacy anon and service_role keys are JWTs too. Name them before
	// checking the signature, so that the answer is the same whichever key
	// signed them (a project that moved to asymmetric keys still has them).
	if e := apiKeyError(parts.role); e != nil {
		return User{}, e
	}
	alg, key, err := v.keyFor(ctx, parts.header)
	if err != nil {
		return User{}, err
	}
	payload, err := verifySignature(token, alg, key)
	if err != nil {
		return User{}, invalidToken(msgSignature, err)
	}
	u, exp, err := v.checkClaims(payload)
	if err != nil {
		return User{}, err
	}
	v.cache.put(token, u, exp, now)
	return u, nil
}

// keyFor picks the one key, and its pinned algorithm, that may verify a
// token with header h.
func (v *Verifier) keyFor(ctx context.Context, h header) (jwa.SignatureAlgorithm, any, error) {
	switch h.Alg {
	case "HS256":
		if v.secret == nil {
			return "", nil, invalidToken(msgHS256Disabled, nil)
		}
		return jwa.HS256, v.secret, nil
	case "ES256", "RS256":
		if v.jwks == nil {
			return "", nil, invalidToken(msgJWKSDisabled, nil)
		}
		if h.Kid == "" {
			return "", nil, invalidToken(msgNoKid, nil)
		}
		k, err := v.jwks.lookup(ctx, h.Kid)
		if err != nil {
			return "", nil, err
		}
		if string(k.alg) != h.Alg {
			return "", nil, invalidToken(msgAlgKeyMismatch,
				fmt.Errorf("token alg %s, key %q is pinned to %s", h.Alg, h.Kid, k.alg))
		}
		return k.alg, k.key, nil
	case "none", "None", "NONE", "":
		return "", nil, invalidToken(msgAlgNone, nil)
	default:
		return "", nil, invalidToken(msgAlgUnsupported, nil)
	}
}

type ctxKey struct{}

// WithUser returns a copy of ctx that carries u.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

// UserFrom returns the user WithUser stored in ctx, and whether there is one.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(ctxKey{}).(User)
	return u, ok
}
