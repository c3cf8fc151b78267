package auth_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/httpkit"
)

// TestTokenCacheNeverOutlivesTheToken: a token verified once is answered
// from the cache while it lives, but never after its exp (the full check
// then answers token_expired), nor a tampered copy of it.
func TestTokenCacheNeverOutlivesTheToken(t *testing.T) {
	clk := newClock()
	v, err := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret, Now: clk.Now, Leeway: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	uid := authtest.NewUserID(t)
	claims := authtest.With(authtest.UserClaims(uid, "", "", clk.Now()), map[string]any{"exp": clk.Now().Add(30 * time.Second).Unix()})
	token := authtest.SignHS256(t, authtest.Secret, claims)
	for i := range 3 {
		if u, err := v.Verify(context.Background(), token); err != nil || u.ID != uid {
			t.Fatalf("call %d: %v %v", i, u, err)
		}
	}
	if _, err := v.Verify(context.Background(), token[:len(token)-2]+"xx"); err == nil {
		t.Fatal("a tampered copy of a cached token was accepted")
	}
	clk.Advance(32 * time.Second)
	_, err = v.Verify(context.Background(), token)
	var he *httpkit.Error
	if !errors.As(err, &he) || he.Code != httpkit.CodeTokenExpired {
		t.Fatalf("after exp: %v, want token_expired", err)
	}
}

// TestAdmitRunsForCachedTokens: the per-user hook (the rate limit) is
// asked on every request, also when the token comes from the cache.
func TestAdmitRunsForCachedTokens(t *testing.T) {
	calls := 0
	v, err := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret, Admit: func(context.Context, auth.User) error {
		calls++
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	token := authtest.UserToken(t, authtest.Secret, authtest.NewUserID(t), "")
	for range 3 {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		if _, err := v.FromRequest(r); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 3 {
		t.Fatalf("Admit called %d times for 3 requests", calls)
	}
}

// BenchmarkVerifyCached is the cost of a page load's token check when the
// same token was verified before, against the full check.
func BenchmarkVerifyCached(b *testing.B) {
	token := authtest.UserToken(b, authtest.Secret, authtest.NewUserID(b), "")
	for _, tt := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", 0}, {"full", -1}} {
		b.Run(tt.name, func(b *testing.B) {
			v, err := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret, TokenCacheTTL: tt.ttl})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for range b.N {
				if _, err := v.Verify(context.Background(), token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
