package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// DefaultMintTTL is the lifetime of a minted token when MintClaims.TTL is
// zero; it matches Supabase Auth's default access-token lifetime.
const DefaultMintTTL = time.Hour

// MintClaims describes a development or test access token for Mint.
type MintClaims struct {
	// UserID is the "sub": the Supabase user ID, a UUID.
	UserID string
	// Email is the "email" claim; it may be empty.
	Email string
	// Issuer is the "iss": SUPABASE_URL+"/auth/v1" for a Verifier that
	// knows SUPABASE_URL. Empty leaves "iss" out.
	Issuer string
	// TTL is how long the token is valid: exp = now + TTL. Zero means
	// DefaultMintTTL; a negative TTL mints an already expired token.
	TTL time.Duration
	// Role is the "role"; empty means "authenticated".
	Role string
}

// Mint signs an HS256 access token with the shape Supabase Auth gives a
// signed-in user (sub, email, role, aud "authenticated", iss, exp, iat,
// session_id, is_anonymous, aal), for the developer CLI `billing token` and
// for tests. It never talks to Supabase: the token is only as good as the
// secret, which must be the SUPABASE_JWT_SECRET the functions verify with.
func Mint(secret string, c MintClaims) (string, error) {
	if secret == "" {
		return "", errors.New("auth: Mint needs the JWT secret (SUPABASE_JWT_SECRET)")
	}
	if !isUUID(c.UserID) {
		return "", fmt.Errorf("auth: Mint: user ID %q is not a UUID", c.UserID)
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultMintTTL
	}
	role := c.Role
	if role == "" {
		role = RoleAuthenticated
	}
	sessionID := NewUUID()
	now := time.Now().Truncate(time.Second)
	tok, err := jwt.NewBuilder().
		Subject(c.UserID).
		Audience([]string{Audience}).
		IssuedAt(now).
		Expiration(now.Add(ttl)).
		Claim("email", c.Email).
		Claim("role", role).
		Claim("session_id", sessionID).
		Claim("is_anonymous", false).
		Claim("aal", "aal1").
		Build()
	if err != nil {
		return "", fmt.Errorf("auth: Mint: %w", err)
	}
	if c.Issuer != "" {
		if err := tok.Set(jwt.IssuerKey, c.Issuer); err != nil {
			return "", fmt.Errorf("auth: Mint: %w", err)
		}
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, []byte(secret)))
	if err != nil {
		return "", fmt.Errorf("auth: Mint: %w", err)
	}
	return string(signed), nil
}

// NewUUID returns a random (version 4) UUID in canonical form, as Supabase
// uses for user and session IDs.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// IsUUID reports whether s is a UUID in canonical 8-4-4-4-12 hex form, the
// form of Supabase user IDs.
func IsUUID(s string) bool { return isUUID(s) }

// isUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
