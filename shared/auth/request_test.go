package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"billing/shared/auth"
	"billing/shared/auth/authtest"
	"billing/shared/httpkit"
)

func TestFromRequest(t *testing.T) {
	clk := newClock()
	v, err := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	uid := authtest.NewUserID(t)
	token := authtest.SignHS256(t, authtest.Secret, authtest.UserClaims(uid, "ann@example.com", "", clk.Now()))
	anonKey := authtest.SignHS256(t, authtest.Secret, authtest.AnonKeyClaims("proj", clk.Now()))

	tests := []struct {
		name   string
		header []string // Authorization values; nil means none
		code   string   // "" means accepted
		msg    string
	}{
		{"Bearer", []string{"Bearer " + token}, "", ""},
		{"bearer lower case", []string{"bearer " + token}, "", ""},
		{"BEARER upper case", []string{"BEARER " + token}, "", ""},
		{"extra spaces", []string{"  Bearer   " + token + "  "}, "", ""},
		{"no header", nil, httpkit.CodeMissingToken, "no Authorization header"},
		{"empty header", []string{""}, httpkit.CodeMissingToken, "no Authorization header"},
		{"Bearer without token", []string{"Bearer"}, httpkit.CodeMissingToken, `says "Bearer" but carries no token`},
		{"Bearer and spaces", []string{"Bearer   "}, httpkit.CodeMissingToken, `says "Bearer" but carries no token`},
		{"Bearer undefined (no session in the app)", []string{"Bearer undefined"}, httpkit.CodeMissingToken, "had no session"},
		{"Bearer null", []string{"Bearer null"}, httpkit.CodeMissingToken, "had no session"},
		{"token without scheme", []string{token}, httpkit.CodeInvalidToken, `"Bearer <access_token>"`},
		{"Basic scheme", []string{"Basic dXNlcjpwYXNz"}, httpkit.CodeInvalidToken, `"Bearer <access_token>"`},
		{"Bearer with a colon", []string{"Bearer: " + token}, httpkit.CodeInvalidToken, `"Bearer <access_token>"`},
		{"garbled token", []string{"Bearer eyJhbGciOi.garbled"}, httpkit.CodeInvalidToken, "well-formed"},
		{"anon key as Bearer (supabase-js without a session)", []string{"Bearer " + anonKey}, httpkit.CodeNotAUserToken, "anon key"},
		{"publishable key as Bearer", []string{"Bearer sb_publishable_abcdefghijklmnopqrstuv"}, httpkit.CodeNotAUserToken, "publishable API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/functions/v1/check-subscription", nil)
			r.Header.Set("apikey", anonKey) // sent by supabase-js, ignored
			for _, h := range tt.header {
				r.Header.Add("Authorization", h)
			}
			u, err := v.FromRequest(r)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("FromRequest: %v", err)
				}
				if u.ID != uid || u.Email != "ann@example.com" {
					t.Errorf("user = %+v, want ID %s", u, uid)
				}
				return
			}
			checkErr(t, err, tt.code, tt.msg, token)
		})
	}
}

func TestUserContext(t *testing.T) {
	u := auth.User{ID: "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d", Email: "ann@example.com", Role: "authenticated"}
	tests := []struct {
		name   string
		ctx    context.Context
		want   auth.User
		wantOK bool
	}{
		{"with user", auth.WithUser(context.Background(), u), u, true},
		{"without user", context.Background(), auth.User{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := auth.UserFrom(tt.ctx)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("UserFrom = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestMint(t *testing.T) {
	v, err := auth.NewVerifier(auth.Config{JWTSecret: authtest.Secret, SupabaseURL: testProject})
	if err != nil {
		t.Fatal(err)
	}
	uid := authtest.NewUserID(t)
	tests := []struct {
		name    string
		secret  string
		claims  auth.MintClaims
		mintErr bool
		code    string // "" means the minted token verifies
	}{
		{"user token", authtest.Secret, auth.MintClaims{UserID: uid, Email: "ann@example.com", Issuer: testIssuer}, false, ""},
		{"explicit TTL", authtest.Secret, auth.MintClaims{UserID: uid, Issuer: testIssuer, TTL: 5 * time.Minute}, false, ""},
		{"negative TTL is expired", authtest.Secret, auth.MintClaims{UserID: uid, Issuer: testIssuer, TTL: -time.Hour}, false, httpkit.CodeTokenExpired},
		{"no issuer", authtest.Secret, auth.MintClaims{UserID: uid}, false, httpkit.CodeInvalidToken},
		{"anon role", authtest.Secret, auth.MintClaims{UserID: uid, Issuer: testIssuer, Role: "anon"}, false, httpkit.CodeNotAUserToken},
		{"other secret", "some-other-secret-some-other-secret!", auth.MintClaims{UserID: uid, Issuer: testIssuer}, false, httpkit.CodeInvalidToken},
		{"no secret", "", auth.MintClaims{UserID: uid}, true, ""},
		{"user ID not a UUID", authtest.Secret, auth.MintClaims{UserID: "ann"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := auth.Mint(tt.secret, tt.claims)
			if tt.mintErr {
				if err == nil {
					t.Fatal("Mint succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			u, err := v.Verify(context.Background(), token)
			if tt.code != "" {
				checkErr(t, err, tt.code, "", token)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := auth.User{ID: uid, Email: tt.claims.Email, Role: "authenticated", SessionID: u.SessionID}
			if u != want || !auth.IsUUID(u.SessionID) {
				t.Errorf("user = %+v, want %+v with a UUID session ID", u, want)
			}
		})
	}
}

func TestNewVerifier(t *testing.T) {
	srv := authtest.NewJWKSServer(t, authtest.NewES256Key(t, "k"))
	tests := []struct {
		name    string
		cfg     auth.Config
		wantErr string
		issuer  string
	}{
		{"secret only", auth.Config{JWTSecret: "s"}, "", ""},
		{"Supabase URL only", auth.Config{SupabaseURL: srv.URL}, "", srv.Issuer()},
		{"trailing slash", auth.Config{SupabaseURL: srv.URL + "/"}, "", srv.Issuer()},
		{"JWKS URL only", auth.Config{JWKSURL: srv.JWKSURL()}, "", ""},
		{"nothing", auth.Config{}, "SUPABASE_JWT_SECRET or SUPABASE_URL", ""},
		{"relative Supabase URL", auth.Config{JWTSecret: "s", SupabaseURL: "abc.supabase.co"}, "SUPABASE_URL", ""},
		{"bad JWKS URL", auth.Config{JWKSURL: "ftp://x/jwks"}, "JWKS URL", ""},
		{"negative leeway", auth.Config{JWTSecret: "s", Leeway: -time.Second}, "Leeway", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := auth.NewVerifier(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			if v.Issuer() != tt.issuer {
				t.Errorf("Issuer() = %q, want %q", v.Issuer(), tt.issuer)
			}
		})
	}
	if srv.Requests() != 0 {
		t.Errorf("NewVerifier fetched the JWKS %d times; it must fetch lazily", srv.Requests())
	}
}
