package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// maxTokenLen bounds the work spent on a token; Supabase access tokens are
// about 1 KB.
const maxTokenLen = 16 << 10

// header is the part of the JOSE header the verifier reads.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// parts is a compact JWT split and decoded, not yet verified.
type parts struct {
	header header
	// role is read from the unverified claims, only to recognise the anon
	// and service_role keys.
	role string
}

// split decodes the header and claims of a compact JWS without verifying
// it. Anything but three base64url segments, a JSON header with a string
// alg, and a JSON object as claims is an error.
func split(token string) (parts, error) {
	var p parts
	segs := strings.Split(token, ".")
	if len(segs) != 3 {
		return p, fmt.Errorf("%d dot-separated segments, want 3", len(segs))
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(segs[0])
	if err != nil {
		return p, fmt.Errorf("header: %w", err)
	}
	if err := json.Unmarshal(rawHeader, &p.header); err != nil {
		return p, fmt.Errorf("header: %w", err)
	}
	if len(p.header.Crit) > 0 {
		return p, errors.New(`header: "crit" extensions are not supported`)
	}
	rawClaims, err := base64.RawURLEncoding.DecodeString(segs[1])
	if err != nil {
		return p, fmt.Errorf("claims: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(rawClaims, &claims); err != nil || claims == nil {
		return p, fmt.Errorf("claims are not a JSON object: %v", err)
	}
	p.role, _ = claims["role"].(string)
	if _, err := base64.RawURLEncoding.DecodeString(segs[2]); err != nil {
		return p, fmt.Errorf("signature: %w", err)
	}
	return p, nil
}

// verifySignature checks the token's signature with exactly one key and
// algorithm and returns the signed claims.
func verifySignature(token string, alg jwa.SignatureAlgorithm, key any) ([]byte, error) {
	return jws.Verify([]byte(token), jws.WithCompact(), jws.WithKey(alg, key))
}

// checkClaims checks the verified claims in the order that gives the most
// useful answer: who the token is for, then time, then audience, issuer and
// subject.
func (v *Verifier) checkClaims(payload []byte) (User, time.Time, error) {
	u, tok, err := v.claims(payload)
	if err != nil {
		return User{}, time.Time{}, err
	}
	return u, tok.Expiration(), nil
}

// claims is checkClaims without the expiry it also returns.
func (v *Verifier) claims(payload []byte) (User, jwt.Token, error) {
	tok := jwt.New()
	if err := json.Unmarshal(payload, tok); err != nil {
		return User{}, nil, invalidToken(msgClaims, err)
	}
	role := stringClaim(tok, "role")
	if e := apiKeyError(role); e != nil {
		return User{}, nil, e
	}
	if role != RoleAuthenticated {
		return User{}, nil, notAUserToken(msgOtherRole)
	}

	if exp := tok.Expiration(); exp.IsZero() || exp.Unix() <= 0 {
		return User{}, nil, invalidToken(msgNoExp, nil)
	}
	err := jwt.Validate(tok,
		jwt.WithClock(jwt.ClockFunc(v.now)),
		jwt.WithAcceptableSkew(v.leeway))
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired()):
		return User{}, nil, tokenExpired(err)
	case errors.Is(err, jwt.ErrTokenNotYetValid()):
		return User{}, nil, invalidToken(msgNotYetValid, err)
	case errors.Is(err, jwt.ErrInvalidIssuedAt()):
		return User{}, nil, invalidToken(msgIssuedInFuture, err)
	default:
		return User{}, nil, invalidToken(msgClaims, err)
	}

	if !slices.Contains(tok.Audience(), Audience) {
		return User{}, nil, invalidToken(msgAudience, fmt.Errorf("aud %q", tok.Audience()))
	}
	if v.issuer != "" && tok.Issuer() != v.issuer {
		return User{}, nil, invalidToken(msgIssuer, fmt.Errorf("iss %q, want %q", tok.Issuer(), v.issuer))
	}
	sub := tok.Subject()
	if sub == "" {
		return User{}, nil, invalidToken(msgNoSub, nil)
	}
	if !isUUID(sub) {
		return User{}, nil, invalidToken(msgSubNotUUID, nil)
	}
	anon, _ := claim(tok, "is_anonymous").(bool)
	return User{
		ID:          strings.ToLower(sub),
		Email:       stringClaim(tok, "email"),
		Role:        role,
		SessionID:   stringClaim(tok, "session_id"),
		IsAnonymous: anon,
	}, tok, nil
}

// claim returns the claim called name, or nil.
func claim(tok jwt.Token, name string) any {
	v, _ := tok.Get(name)
	return v
}

// stringClaim returns the claim called name if it is a string, else "".
func stringClaim(tok jwt.Token, name string) string {
	s, _ := claim(tok, name).(string)
	return s
}
