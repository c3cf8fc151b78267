package authtest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"billing/shared/auth/authtest"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// decodeSegment returns segment i of a compact JWT as a JSON object.
func decodeSegment(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	segs := strings.Split(token, ".")
	if len(segs) != 3 {
		t.Fatalf("token has %d segments, want 3", len(segs))
	}
	b, err := base64.RawURLEncoding.DecodeString(segs[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTokenShapes(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	claims := authtest.UserClaims(authtest.NewUserID(t), "a@example.com", "", now)
	es := authtest.NewES256Key(t, "es-1")
	signed := es.Sign(t, claims)
	tests := []struct {
		name       string
		token      string
		wantHeader map[string]any
		wantClaim  map[string]any
		emptySig   bool
	}{
		{"ES256 key", signed, map[string]any{"alg": "ES256", "kid": "es-1", "typ": "JWT"}, map[string]any{"role": "authenticated"}, false},
		{"RS256 key", authtest.NewRS256Key(t, "rs-1").Sign(t, claims), map[string]any{"alg": "RS256", "kid": "rs-1"}, map[string]any{"aud": "authenticated"}, false},
		{"HS256", authtest.SignHS256(t, authtest.Secret, claims), map[string]any{"alg": "HS256"}, map[string]any{"email": "a@example.com"}, false},
		{"Sign never lets header override alg", authtest.Sign(t, "HS256", []byte("k"), map[string]any{"alg": "none"}, claims), map[string]any{"alg": "HS256"}, nil, false},
		{"unsigned", authtest.Unsigned(t, claims), map[string]any{"alg": "none"}, map[string]any{"role": "authenticated"}, true},
		{"anon key", authtest.SignHS256(t, authtest.Secret, authtest.AnonKeyClaims("ref1", now)), map[string]any{"alg": "HS256"}, map[string]any{"iss": "supabase", "ref": "ref1", "role": "anon"}, false},
		{"service_role key", authtest.SignHS256(t, authtest.Secret, authtest.ServiceRoleKeyClaims("ref1", now)), nil, map[string]any{"role": "service_role"}, false},
		{"tampered", authtest.Tamper(t, signed, authtest.With(claims, map[string]any{"role": "x", "email": nil})), map[string]any{"kid": "es-1"}, map[string]any{"role": "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr, cl := decodeSegment(t, tt.token, 0), decodeSegment(t, tt.token, 1)
			for k, want := range tt.wantHeader {
				if hdr[k] != want {
					t.Errorf("header %s = %v, want %v", k, hdr[k], want)
				}
			}
			for k, want := range tt.wantClaim {
				if cl[k] != want {
					t.Errorf("claim %s = %v, want %v", k, cl[k], want)
				}
			}
			if sig := strings.Split(tt.token, ".")[2]; (sig == "") != tt.emptySig {
				t.Errorf("signature %q, want empty: %v", sig, tt.emptySig)
			}
		})
	}
	if _, ok := authtest.With(claims, map[string]any{"email": nil})["email"]; ok {
		t.Error("With with a nil value did not delete the claim")
	}
	if _, ok := claims["email"]; !ok {
		t.Error("With changed its input")
	}
}

func TestJWKSServer(t *testing.T) {
	es := authtest.NewES256Key(t, "es-1")
	rs := authtest.NewRS256Key(t, "rs-1")
	rs.HideAlg = true
	srv := authtest.NewJWKSServer(t, es)

	tests := []struct {
		name     string
		before   func()
		path     string
		status   int
		wantKids map[string]string // kid -> alg
		requests int
	}{
		{"publishes the key", nil, authtest.JWKSPath, http.StatusOK, map[string]string{"es-1": "ES256"}, 1},
		{"other paths are 404 and not counted", nil, "/auth/v1/user", http.StatusNotFound, nil, 1},
		{"added key", func() { srv.AddKey(rs) }, authtest.JWKSPath, http.StatusOK, map[string]string{"es-1": "ES256", "rs-1": ""}, 2},
		{"replaced keys", func() { srv.SetKeys(rs) }, authtest.JWKSPath, http.StatusOK, map[string]string{"rs-1": ""}, 3},
		{"failing", func() { srv.FailWith(http.StatusBadGateway) }, authtest.JWKSPath, http.StatusBadGateway, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if srv.Requests() != tt.requests {
				t.Errorf("Requests() = %d, want %d", srv.Requests(), tt.requests)
			}
			if tt.wantKids == nil {
				return
			}
			set, err := jwk.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for i := 0; i < set.Len(); i++ {
				k, _ := set.Key(i)
				if isPrivate, _ := jwk.IsPrivateKey(k); isPrivate {
					t.Errorf("key %s is published with its private part", k.KeyID())
				}
				got[k.KeyID()] = k.Algorithm().String()
			}
			if len(got) != len(tt.wantKids) {
				t.Fatalf("keys = %v, want %v", got, tt.wantKids)
			}
			for kid, alg := range tt.wantKids {
				if a, ok := got[kid]; !ok || a != alg {
					t.Errorf("key %s alg = %q (present %v), want %q", kid, a, ok, alg)
				}
			}
		})
	}
	if srv.Issuer() != srv.URL+"/auth/v1" || srv.JWKSURL() != srv.URL+authtest.JWKSPath || srv.SupabaseURL() != srv.URL {
		t.Errorf("URLs: %s %s %s", srv.SupabaseURL(), srv.Issuer(), srv.JWKSURL())
	}
}
