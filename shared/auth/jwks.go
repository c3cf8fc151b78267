package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
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
	// maxStale is how long past jwksTTL a cached set is still used while
	// the JWKS cannot be fetched. After that every token that needs a key
	// of the set is answered 503 unavailable: a key removed from the JWKS
	// must not stay valid for as long as the endpoint is down.
	maxStale = time.Hour
	// unknownKidInterval is the least time between two fetches caused by
	// tokens whose kid is not in the cached set. A token that comes sooner
	// waits for the next slot (at most this long) instead of being refused,
	// so that tokens with made-up kids can neither hammer the JWKS endpoint
	// nor starve a real, freshly rotated key.
	unknownKidInterval = time.Second
	// maxKidLen bounds a kid worth a refresh; Supabase's are UUIDs.
	maxKidLen = 128
	// failureBackoff is the least time between two fetches after one failed.
	failureBackoff = 5 * time.Second
	// fetchTimeout bounds one fetch, whatever the caller's context says.
	fetchTimeout = 10 * time.Second
	// maxJWKSSize bounds the JWKS document.
	maxJWKSSize = 1 << 20
)

// jwksKey is a public key from the JWKS with the one algorithm it verifies,
// or, with refused set, a kid the JWKS publishes with a key this verifier
// does not accept (remembered so that it causes no refresh).
type jwksKey struct {
	alg     jwa.SignatureAlgorithm
	key     jwk.Key
	refused bool
}

// jwksCache fetches the project's JWKS lazily and keeps it for jwksTTL.
type jwksCache struct {
	url    string
	client *http.Client
	now    func() time.Time

	fetchMu sync.Mutex // held while fetching, so fetches never overlap

	mu          sync.Mutex // guards the fields below
	keys        map[string]jwksKey
	seq         uint64    // number of the last fetch started (successful or not)
	done        uint64    // number of the last fetch finished
	fetchedAt   time.Time // time of the last successful fetch
	nextUnknown time.Time // earliest time of the next refresh for an unknown kid
	failedAt    time.Time // time of the last failed fetch
	lastFailure error
}

func newJWKSCache(url string, client *http.Client, now func() time.Time) *jwksCache {
	return &jwksCache{url: url, client: client, now: now}
}

// lookup returns the key with ID kid. A well-formed kid missing from the
// cached set causes a refresh that starts after the token arrived: at once,
// or at the next refresh slot (see unknownKidInterval), shared by every
// token waiting for it.
func (c *jwksCache) lookup(ctx context.Context, kid string) (jwksKey, error) {
	// seq counts a fetch in progress: the refresh below must start after
	// this token arrived, or it may miss a key published a moment ago.
	keys, seq, fetched, err := c.current(ctx)
	if err != nil {
		return jwksKey{}, err
	}
	if k, ok := keys[kid]; ok {
		if k.refused {
			return jwksKey{}, unknownKid(kid)
		}
		return k, nil
	}
	if fetched || !wellFormedKid(kid) {
		return jwksKey{}, unknownKid(kid)
	}
	if err := c.waitForRefreshSlot(ctx); err != nil {
		return jwksKey{}, httpkit.Unavailable(err)
	}
	keys, _, err = c.refresh(ctx, seq)
	if k, ok := keys[kid]; ok && !k.refused {
		return k, nil
	}
	if err != nil {
		// The kid may be a new key that could not be fetched: not the
		// client's fault.
		return jwksKey{}, err
	}
	return jwksKey{}, unknownKid(kid)
}

// wellFormedKid reports whether kid could be a key ID of a JWKS: short and
// made of the characters key IDs use. Anything else is refused without a
// refresh.
func wellFormedKid(kid string) bool {
	if kid == "" || len(kid) > maxKidLen {
		return false
	}
	for _, r := range kid {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_.~+/=:", r):
		default:
			return false
		}
	}
	return true
}

// waitForRefreshSlot returns when a refresh for an unknown kid may start:
// at once when the last one is at least unknownKidInterval ago, else at
// the next slot. Every caller waiting for one slot is served by the one
// fetch the first of them starts (refresh coalesces them).
func (c *jwksCache) waitForRefreshSlot(ctx context.Context) error {
	c.mu.Lock()
	now := c.now()
	wait := c.nextUnknown.Sub(now)
	if wait <= 0 {
		c.nextUnknown = now.Add(unknownKidInterval)
	}
	c.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("jwks: waiting for a refresh: %w", ctx.Err())
	case <-t.C:
	}
	c.mu.Lock()
	if next := c.now().Add(unknownKidInterval); next.After(c.nextUnknown) {
		c.nextUnknown = next
	}
	c.mu.Unlock()
	return nil
}

// current returns the cached keys, fetching them first when there are none
// or they are older than jwksTTL; fetched says whether a fetch finished
// during this call. seq is the number of the last fetch started when the
// keys were read, in progress or not. When a refetch fails, the stale keys
// are kept for at most maxStale past their TTL; after that, and when there
// are none, the answer is 503 unavailable.
func (c *jwksCache) current(ctx context.Context) (keys map[string]jwksKey, seq uint64, fetched bool, err error) {
	c.mu.Lock()
	keys, seq, done := c.keys, c.seq, c.done
	fresh := keys != nil && c.now().Sub(c.fetchedAt) < jwksTTL
	c.mu.Unlock()
	if fresh {
		return keys, seq, false, nil
	}
	// A fetch already under way is good enough for an expired TTL.
	newKeys, newSeq, err := c.refresh(ctx, done)
	if err != nil {
		c.mu.Lock()
		tooStale := c.now().Sub(c.fetchedAt) >= jwksTTL+maxStale
		c.mu.Unlock()
		if newKeys == nil || tooStale {
			return nil, 0, false, err
		}
		return newKeys, newSeq, false, nil
	}
	return newKeys, newSeq, newSeq > done, nil
}

// refresh makes sure a fetch numbered above need has finished: it fetches
// the JWKS unless one has (then that one's result is the answer), and
// returns the keys now cached (possibly stale or nil), the number of the
// last fetch, and an error when that fetch failed.
func (c *jwksCache) refresh(ctx context.Context, need uint64) (map[string]jwksKey, uint64, error) {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()

	// Fetches never overlap: holding fetchMu, every fetch started has finished.
	c.mu.Lock()
	keys, seq := c.keys, c.seq
	recentFailure := !c.failedAt.IsZero() && c.now().Sub(c.failedAt) < failureBackoff
	lastFailure := c.lastFailure
	c.mu.Unlock()
	if seq > need {
		if lastFailure != nil {
			return keys, seq, httpkit.Unavailable(lastFailure)
		}
		return keys, seq, nil
	}
	if recentFailure {
		return keys, seq, httpkit.Unavailable(lastFailure)
	}

	c.mu.Lock()
	c.seq++
	seq = c.seq
	c.mu.Unlock()
	fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	newKeys, err := fetchJWKS(fetchCtx, c.client, c.url)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = seq
	if err != nil {
		c.failedAt, c.lastFailure = c.now(), err
		return c.keys, seq, httpkit.Unavailable(err)
	}
	c.keys, c.fetchedAt, c.failedAt, c.lastFailure = newKeys, c.now(), time.Time{}, nil
	return c.keys, seq, nil
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
		// The first usable key of a kid wins; a kid with none is refused.
		if prev, dup := keys[kid]; dup && !prev.refused {
			continue
		}
		if pinned, err := pin(k); err == nil {
			keys[kid] = pinned
		} else {
			keys[kid] = jwksKey{refused: true}
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
