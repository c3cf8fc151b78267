package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/httpkit"
)

// TestJunkKidDoesNotStarveRotatedKey is finding 2 of the security review:
// a token with a made-up kid used to take the one refresh slot of 30 s, so
// that a real key published right after was refused for up to 30 s (and
// apps sign users out on 401). Now a real new key is accepted at once, or
// after at most one refresh interval, however many junk kids came first.
func TestJunkKidDoesNotStarveRotatedKey(t *testing.T) {
	tests := []struct {
		name  string
		junk  int  // junk-kid tokens sent before the real one
		flood bool // junk tokens keep coming while the real one is verified
	}{
		{"one junk kid just before", 1, false},
		{"a flood of junk kids around it", 24, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			oldKey := authtest.NewES256Key(t, "key-old")
			newKey := authtest.NewES256Key(t, "key-new")
			v, srv := jwksVerifier(t, clk, "", oldKey)
			claims := authtest.UserClaims(authtest.NewUserID(t), "", srv.Issuer(), clk.Now())
			verifyOK(t, v, oldKey.Sign(t, claims))

			junk := func(i int) {
				token := authtest.NewES256Key(t, fmt.Sprintf("junk-%d", i)).Sign(t, claims)
				_, err := v.Verify(context.Background(), token)
				checkErr(t, err, httpkit.CodeInvalidToken, "not among", token)
			}
			var pre sync.WaitGroup
			for i := range tt.junk {
				pre.Go(func() { junk(i) })
			}
			pre.Wait()
			// The project rotates its key right after the attacker's refresh.
			srv.AddKey(newKey)
			clk.Advance(10 * time.Millisecond)

			var wg sync.WaitGroup
			if tt.flood {
				for i := range tt.junk {
					wg.Go(func() { junk(1000 + i) })
				}
			}
			start := time.Now()
			_, err := v.Verify(context.Background(), newKey.Sign(t, claims))
			took := time.Since(start)
			wg.Wait()
			if err != nil {
				t.Fatalf("a token of the freshly rotated key was refused: %v", err)
			}
			if took > auth.UnknownKidInterval+500*time.Millisecond {
				t.Fatalf("the real key waited %v, want at most about %v", took, auth.UnknownKidInterval)
			}
			// Junk kids still cannot hammer the endpoint: about one fetch
			// per interval, however many tokens.
			if got := srv.Requests(); got > 4+tt.junk/8 {
				t.Fatalf("JWKS requests = %d for %d junk tokens", got, 2*tt.junk)
			}
		})
	}
}

// TestStaleKeysHaveABound is finding 3 of the security review: while the
// JWKS cannot be fetched, the cached set used to stay valid forever, so a
// key the project removed (a leaked one) kept working for as long as the
// endpoint was down. Past its TTL plus auth.MaxStale the answer is now 503
// unavailable: neither 401 (the user's token may be fine) nor accepted.
func TestStaleKeysHaveABound(t *testing.T) {
	clk := newClock()
	key := authtest.NewES256Key(t, "es-1")
	v, srv := jwksVerifier(t, clk, "", key)
	claims := authtest.UserClaims(authtest.NewUserID(t), "", srv.Issuer(), clk.Now())
	verify := func() error {
		c := authtest.With(claims, map[string]any{"exp": clk.Now().Add(time.Hour).Unix(), "iat": clk.Now().Unix()})
		_, err := v.Verify(context.Background(), key.Sign(t, c))
		return err
	}
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	srv.FailWith(http.StatusBadGateway)

	steps := []struct {
		name    string
		advance time.Duration
		status  int // 0: accepted
	}{
		{"stale within the bound: still accepted", auth.JWKSTTL + time.Minute, 0},
		{"just before the bound", auth.MaxStale - 2*time.Minute, 0},
		{"past the bound: 503", 2 * time.Minute, http.StatusServiceUnavailable},
		{"and stays 503 while down", 10 * time.Minute, http.StatusServiceUnavailable},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clk.Advance(s.advance)
			err := verify()
			if s.status == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if e := httpkit.AsError(err); err == nil || e.Status != s.status || e.Code != httpkit.CodeUnavailable {
				t.Fatalf("err = %v, want %d %s", err, s.status, httpkit.CodeUnavailable)
			}
		})
	}
	t.Run("recovers when the endpoint is back", func(t *testing.T) {
		srv.FailWith(0)
		clk.Advance(time.Minute)
		if err := verify(); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})
}
