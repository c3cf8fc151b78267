package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultTokenCacheTTL is how long a verified token's user is kept at most
// (Config.TokenCacheTTL). It bounds how long a token stays accepted after
// the key that signed it was removed from the project's JWKS.
const DefaultTokenCacheTTL = time.Minute

// maxCachedTokens bounds the cache; past it, expired entries are dropped,
// and if none were, the whole cache is.
const maxCachedTokens = 8192

// tokenCache remembers the users of tokens that verified, keyed by the
// SHA-256 of the token's bytes, until the earlier of the token's exp and
// the cache TTL. A page load that sends the same access token again (every
// one does, for the hour the token lives) then skips the signature check
// and the claims' parsing. Only a token that passed every check is cached,
// and an entry never outlives the token's exp (the leeway past exp is
// decided by a full check again), so the cache never accepts what a full
// check would refuse, but for a key removed from the JWKS less than a TTL
// ago.
type tokenCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]cachedUser
}

type cachedUser struct {
	user  User
	until time.Time
}

func newTokenCache(ttl time.Duration) *tokenCache {
	if ttl < 0 {
		return nil
	}
	if ttl == 0 {
		ttl = DefaultTokenCacheTTL
	}
	return &tokenCache{ttl: ttl, m: make(map[[sha256.Size]byte]cachedUser)}
}

// get returns the cached user of token, if its entry is still valid at now.
func (c *tokenCache) get(token string, now time.Time) (User, bool) {
	if c == nil {
		return User{}, false
	}
	k := sha256.Sum256([]byte(token))
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return User{}, false
	}
	return e.user, true
}

// put caches u for token until the earlier of exp and now + TTL.
func (c *tokenCache) put(token string, u User, exp, now time.Time) {
	if c == nil {
		return
	}
	until := now.Add(c.ttl)
	if exp.Before(until) {
		until = exp
	}
	if !now.Before(until) {
		return
	}
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedTokens {
		for key, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= maxCachedTokens {
			clear(c.m)
		}
	}
	c.m[k] = cachedUser{user: u, until: until}
}
