package function_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"billing/shared/auth"
	"billing/shared/function"
	"billing/shared/httpkit"
)

// tokenAuth accepts the bearer token "good" as user u1.
type tokenAuth struct{}

func (tokenAuth) FromRequest(r *http.Request) (auth.User, error) {
	if r.Header.Get("Authorization") != "Bearer good" {
		return auth.User{}, httpkit.NewError(http.StatusUnauthorized, httpkit.CodeMissingToken, "no token")
	}
	return auth.User{ID: "u1"}, nil
}

// TestDecodeUserPOSTOrder: the method is checked before the token, and the
// token before the body.
func TestDecodeUserPOSTOrder(t *testing.T) {
	tests := []struct {
		name, method, token, contentType, body string
		wantStatus                             int
		wantCode                               string
	}{
		{"wrong method, no token, bad body", "GET", "", "text/plain", "x", 405, httpkit.CodeMethodNotAllowed},
		{"no token, bad body", "POST", "", "text/plain", "x", 401, httpkit.CodeMissingToken},
		{"bad content type", "POST", "good", "text/plain", "x", 415, httpkit.CodeUnsupportedMedia},
		{"too large", "POST", "good", "application/json", `{"a":"` + strings.Repeat("x", httpkit.AppBodyLimit) + `"}`, 413, httpkit.CodePayloadTooLarge},
		{"wrong type", "POST", "good", "application/json", `{"a":1}`, 400, httpkit.CodeInvalidRequest},
		{"ok", "POST", "good", "application/json", `{"a":"b","other":1}`, 200, ""},
		{"empty body", "POST", "good", "", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct{ A string }
			var user auth.User
			h := httpkit.Handle(func(w http.ResponseWriter, r *http.Request) error {
				var err error
				user, err = function.DecodeUserPOST(w, r, tokenAuth{}, &got)
				if err != nil {
					return err
				}
				w.WriteHeader(http.StatusOK)
				return nil
			})
			req := httptest.NewRequest(tt.method, "/", strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantCode != "" {
				var b struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error != tt.wantCode {
					t.Fatalf("body %s, want error %s", rec.Body, tt.wantCode)
				}
				return
			}
			if user.ID != "u1" {
				t.Errorf("user = %+v", user)
			}
			if tt.body != "" && got.A != "b" {
				t.Errorf("params = %+v", got)
			}
		})
	}
}
