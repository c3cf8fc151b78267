package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// JWKSPath is where Supabase Auth serves the project's public keys.
const JWKSPath = "/auth/v1/.well-known/jwks.json"

// Key is an asymmetric signing key as Supabase Auth holds it: a key ID, the
// one algorithm it signs with, and the private key.
type Key struct {
	// ID is the "kid" in the JWKS and in token headers.
	ID string
	// Alg is "ES256" or "RS256".
	Alg string
	// Private is an *ecdsa.PrivateKey (ES256) or *rsa.PrivateKey (RS256).
	Private crypto.Signer
	// HideAlg publishes the key in the JWKS without "alg", so that a
	// verifier has to infer the algorithm from the key type.
	HideAlg bool
}

// NewES256Key generates an EC P-256 key pair with key ID kid, the kind of
// key Supabase Auth signs with by default.
func NewES256Key(t testing.TB, kid string) *Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return &Key{ID: kid, Alg: "ES256", Private: priv}
}

// NewRS256Key generates a 2048-bit RSA key pair with key ID kid.
func NewRS256Key(t testing.TB, kid string) *Key {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return &Key{ID: kid, Alg: "RS256", Private: priv}
}

// Sign returns a token with claims signed by k, with k's kid in the header.
func (k *Key) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	return Sign(t, k.Alg, k.Private, map[string]any{"kid": k.ID}, claims)
}

// SignES256 signs claims with an EC P-256 private key and puts kid in the
// header.
func SignES256(t testing.TB, key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	return Sign(t, "ES256", key, map[string]any{"kid": kid}, claims)
}

// PublicJWK returns k's public key as a JWK with "kid", "use": "sig" and,
// unless HideAlg, "alg".
func (k *Key) PublicJWK(t testing.TB) jwk.Key {
	t.Helper()
	pub, err := k.publicJWK()
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return pub
}

func (k *Key) publicJWK() (jwk.Key, error) {
	pub, err := jwk.FromRaw(k.Private.Public())
	if err != nil {
		return nil, err
	}
	set := map[string]any{jwk.KeyIDKey: k.ID, jwk.KeyUsageKey: "sig"}
	if !k.HideAlg {
		set[jwk.AlgorithmKey] = k.Alg
	}
	for name, v := range set {
		if err := pub.Set(name, v); err != nil {
			return nil, fmt.Errorf("jwk %s: %w", name, err)
		}
	}
	return pub, nil
}

// PublicPEM returns k's public key as a PEM "PUBLIC KEY" block, the bytes
// an algorithm-confusion attack uses as an HMAC secret.
func (k *Key) PublicPEM(t testing.TB) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.PublicDER(t)})
}

// PublicDER returns k's public key in PKIX DER form.
func (k *Key) PublicDER(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Private.Public())
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return der
}

// JWKSServer serves a project's JWKS at JWKSPath, as Supabase Auth does,
// and counts the requests. Its URL stands in for SUPABASE_URL.
type JWKSServer struct {
	*httptest.Server

	requests atomic.Int64
	mu       sync.Mutex
	keys     []*Key
	status   int
}

// NewJWKSServer starts a JWKS server publishing the public halves of keys;
// it is closed when the test ends.
func NewJWKSServer(t testing.TB, keys ...*Key) *JWKSServer {
	t.Helper()
	s := &JWKSServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != JWKSPath {
			http.NotFound(w, r)
			return
		}
		s.requests.Add(1)
		s.mu.Lock()
		status, keys := s.status, append([]*Key(nil), s.keys...)
		s.mu.Unlock()
		if status != 0 {
			http.Error(w, http.StatusText(status), status)
			return
		}
		set := jwk.NewSet()
		for _, k := range keys {
			pub, err := k.publicJWK()
			if err == nil {
				err = set.AddKey(pub)
			}
			if err != nil {
				http.Error(w, "authtest: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests returns how many times the JWKS has been requested.
func (s *JWKSServer) Requests() int { return int(s.requests.Load()) }

// AddKey publishes another key, as a key rotation does.
func (s *JWKSServer) AddKey(k *Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
}

// SetKeys replaces the published keys.
func (s *JWKSServer) SetKeys(keys ...*Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append([]*Key(nil), keys...)
}

// FailWith makes the server answer every JWKS request with status; 0
// restores normal answers.
func (s *JWKSServer) FailWith(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// SupabaseURL is the server's URL, to use as Config.SupabaseURL.
func (s *JWKSServer) SupabaseURL() string { return s.URL }

// Issuer is the "iss" a token from this project carries.
func (s *JWKSServer) Issuer() string { return s.URL + "/auth/v1" }

// JWKSURL is the full URL of the JWKS.
func (s *JWKSServer) JWKSURL() string { return s.URL + JWKSPath }
