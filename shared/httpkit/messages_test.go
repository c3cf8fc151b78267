package httpkit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The 405's Allow header names exactly the methods its message offers.
func TestMethodsAllowMatchesMessage(t *testing.T) {
	for _, tt := range []struct {
		name      string
		allowed   []string
		wantAllow string
		wantInMsg string
	}{
		{"GET or POST", []string{"GET", "POST"}, "GET, POST, OPTIONS", "use GET or POST"},
		{"POST only", []string{"POST"}, "POST, OPTIONS", "use POST"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := Handle(func(w http.ResponseWriter, r *http.Request) error { return Methods(r, tt.allowed...) })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("DELETE", "/", nil))
			if got := rec.Header().Get("Allow"); got != tt.wantAllow {
				t.Fatalf("Allow %q, want %q", got, tt.wantAllow)
			}
			if msg := decodeError(t, rec).Message; !strings.Contains(msg, tt.wantInMsg) {
				t.Fatalf("message %q does not say %q", msg, tt.wantInMsg)
			}
		})
	}
}

// A JSON body that is not an object is called what it is, not "not valid JSON".
func TestDecodeJSONNotAnObject(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`[{"plan":"standard"}]`, "must be a JSON object, not a JSON array"},
		{`"standard"`, "must be a JSON object, not a JSON string"},
		{`{"plan":`, "not valid JSON"},
	} {
		t.Run(tt.body, func(t *testing.T) {
			var dst struct {
				Plan string `json:"plan"`
			}
			h := Handle(func(w http.ResponseWriter, r *http.Request) error { return DecodeJSON(w, r, AppBodyLimit, &dst) })
			req := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 400 || !strings.Contains(decodeError(t, rec).Message, tt.want) {
				t.Fatalf("got %d %s, want a 400 saying %q", rec.Code, rec.Body.String(), tt.want)
			}
		})
	}
}
