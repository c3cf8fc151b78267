package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"billing/shared/httpkit"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// JWKS cache timing.
const (
	// jwksTTL is how long a fetched JWKS is used before it is fetched again.
	jwksTTL = 10 * time.Minute
	// unknownKidInterval is the least time between two refreshes caused by
	// a token whose kid is not in the cached set, so that a flood of tokens
	// with made-up kids cannot hammer the JWKS endpoint.
	unknownKidInterval = 30 * time.Second
	// failureBackoff is the least time between two fetches after one failed.
	failureBackoff = 5 * time.Second
	// fetchTimeout bounds one fetch, whatever the caller's context says.
	fetchTimeout = 10 * time.Second
	// maxJWKSSize bounds the JWKS document.
	maxJWKSSize = 1 << 20
)

// jwksKey is a public key from the JWKS with the one algorithm it verifies.
type jwksKey struct {
	alg jwa.SignatureAlgorithm
	key jwk.Key
}

// jwksCache fetches the project's JWKS lazily and keeps it for jwksTTL.
type jwksCache struct {
	url    string
	client *http.Client
	now    func() time.Time

	fetchMu sync.Mutex // held while fetching, so fetches never overlap

	mu          sync.Mutex // guards the fields below
	keys        map[string]jwksKey
	gen         uint64    // counts successful fetches
	fetchedAt   time.Time // time of the last successful fetch
	unknownAt   time.Time // time of the last refresh for an unknown kid
	failedAt    time.Time // time of the last failed fetch
	lastFailure error
}

func newJWKSCache(url string, client *http.Client, now func() time.Time) *jwksCache {
	return &jwksCache{url: url, client: client, now: now}
}

// lookup returns the key with ID kid. A kid missing from the cached set
// causes one refresh, at most once per unknownKidInterval.
func (c *jwksCache) lookup(ctx context.Context, kid string) (jwksKey, error) {
	keys, gen, fetched, err := c.current(ctx)
	if err != nil {
		return jwksKey{}, err
	}
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	if fetched || !c.allowUnknownRefresh() {
		return jwksKey{}, unknownKid(kid)
	}
	keys, _, err = c.refresh(ctx, gen)
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	if err != nil {
		// The kid may be a new key that could not be fetched: not the
		// client's fault.
		return jwksKey{}, err
	}
	return jwksKey{}, unknownKid(kid)
}

// current returns the cached keys, fetching them first when there are none
// or they are older than jwksTTL; fetched says whether this call fetched.
// When a refetch fails, the stale keys are kept.
func (c *jwksCache) current(ctx context.Context) (keys map[string]jwksKey, gen uint64, fetched bool, err error) {
	c.mu.Lock()
	keys, gen = c.keys, c.gen
	fresh := keys != nil && c.now().Sub(c.fetchedAt) < jwksTTL
	c.mu.Unlock()
	if fresh {
		return keys, gen, false, nil
	}
	newKeys, newGen, err := c.refresh(ctx, gen)
	if newKeys == nil {
		return nil, 0, false, err
	}
	return newKeys, newGen, newGen != gen, nil
}

// allowUnknownRefresh reports whether a refresh for an unknown kid may
// happen now, and if so records it.
func (c *jwksCache) allowUnknownRefresh() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.unknownAt.IsZero() && now.Sub(c.unknownAt) < unknownKidInterval {
		return false
	}
	c.unknownAt = now
	return true
}

// refresh fetches the JWKS unless another caller has fetched it since
// generation seen, and returns the keys now cached (possibly stale or nil)
// with an error when the fetch failed.
func (c *jwksCache) refresh(ctx context.Context, seen uint64) (map[string]jwksKey, uint64, error) {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()

	c.mu.Lock()
	keys, gen := c.keys, c.gen
	recentFailure := !c.failedAt.IsZero() && c.now().Sub(c.failedAt) < failureBackoff
	lastFailure := c.lastFailure
	c.mu.Unlock()
	if gen != seen {
		return keys, gen, nil
	}
	if recentFailure {
		return keys, gen, httpkit.Unavailable(lastFailure)
	}

	fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	newKeys, err := fetchJWKS(fetchCtx, c.client, c.url)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.failedAt, c.lastFailure = c.now(), err
		return c.keys, c.gen, httpkit.Unavailable(err)
	}
	c.keys, c.fetchedAt, c.failedAt, c.lastFailure = newKeys, c.now(), time.Time{}, nil
	c.gen++
	return c.keys, c.gen, nil
}

// fetchJWKS downloads and parses the JWKS at url, keeping only the keys it
// can pin to an accepted algorithm.
func fetchJWKS(ctx context.Context, client *http.Client, url string) (map[string]jwksKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: GET %s: status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("jwks: GET %s: %w", url, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("jwks: GET %s: document larger than %d bytes", url, maxJWKSSize)
	}
	set, err := jwk.Parse(body, jwk.WithIgnoreParseError(true))
	if err != nil {
		return nil, fmt.Errorf("jwks: GET %s: %w", url, err)
	}
	keys := make(map[string]jwksKey, set.Len())
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		kid := k.KeyID()
		if kid == "" {
			continue
		}
		if _, dup := keys[kid]; dup {
			continue
		}
		if pinned, err := pin(k); err == nil {
			keys[kid] = pinned
		}
	}
	return keys, nil
}

// pin returns the public part of k with the one algorithm it may verify:
// the key's "alg" when present, else ES256 for an EC P-256 key and RS256 for
// an RSA key. Symmetric keys, other curves and algorithms, encryption keys,
// and RSA keys under 2048 bits are refused.
func pin(k jwk.Key) (jwksKey, error) {
	if use := k.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return jwksKey{}, fmt.Errorf("use %q", use)
	}
	pub, err := k.PublicKey()
	if err != nil {
		return jwksKey{}, err
	}
	var inferred jwa.SignatureAlgorithm
	switch pk := pub.(type) {
	case jwk.ECDSAPublicKey:
		if pk.Crv() != jwa.P256 {
			return jwksKey{}, fmt.Errorf("curve %s", pk.Crv())
		}
		inferred = jwa.ES256
	case jwk.RSAPublicKey:
		var raw rsa.PublicKey
		if err := pk.Raw(&raw); err != nil {
			return jwksKey{}, err
		}
		if raw.N.BitLen() < 2048 {
			return jwksKey{}, fmt.Errorf("RSA key of %d bits", raw.N.BitLen())
		}
		inferred = jwa.RS256
	default:
		return jwksKey{}, fmt.Errorf("key type %s", k.KeyType())
	}
	if alg := k.Algorithm(); alg != nil && alg.String() != "" && alg.String() != inferred.String() {
		return jwksKey{}, errors.New("alg " + alg.String() + " is not accepted for this key")
	}
	return jwksKey{alg: inferred, key: pub}, nil
}
