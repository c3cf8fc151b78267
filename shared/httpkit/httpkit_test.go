package httpkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorBody {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q is not the JSON error body: %v", rec.Body.String(), err)
	}
	return b
}

func TestHandleErrors(t *testing.T) {
	cause := errors.New("secret internal detail")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"public error", BadRequest("plan is required"), 400, CodeInvalidRequest},
		{"wrapped public error", errors.Join(errors.New("ctx"), NewError(409, CodeAlreadySubscribed, "x")), 409, CodeAlreadySubscribed},
		{"plain error becomes 500", cause, 500, CodeInternal},
		{"unavailable", Unavailable(cause), 503, CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Handle(func(w http.ResponseWriter, r *http.Request) error { return tt.err })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			b := decodeError(t, rec)
			if b.Error != tt.wantCode || b.Message == "" {
				t.Fatalf("body = %+v, want code %s and a message", b, tt.wantCode)
			}
			if strings.Contains(rec.Body.String(), "secret internal detail") {
				t.Fatal("the internal cause leaked into the body")
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("content type %q", ct)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	type params struct {
		Plan string `json:"plan"`
	}
	tests := []struct {
		name        string
		body        string
		contentType string
		wantStatus  int
		wantPlan    string
	}{
		{"ok", `{"plan":"standard"}`, "application/json", 0, "standard"},
		{"charset ok", `{"plan":"standard"}`, "application/json; charset=utf-8", 0, "standard"},
		{"unknown fields ignored", `{"plan":"p","userId":"someone-else","email":"x@example.com"}`, "application/json", 0, "p"},
		{"empty body is {}", ``, "", 0, ""},
		{"malformed", `{"plan":`, "application/json", 400, ""},
		{"wrong type", `{"plan":3}`, "application/json", 400, ""},
		{"two objects", `{} {}`, "application/json", 400, ""},
		{"wrong content type", `plan=standard`, "application/x-www-form-urlencoded", 415, ""},
		{"too large", `{"plan":"` + strings.Repeat("a", AppBodyLimit) + `"}`, "application/json", 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			var p params
			err := DecodeJSON(httptest.NewRecorder(), r, AppBodyLimit, &p)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if p.Plan != tt.wantPlan {
					t.Fatalf("plan = %q, want %q", p.Plan, tt.wantPlan)
				}
				return
			}
			if got := AsError(err).Status; got != tt.wantStatus {
				t.Fatalf("status = %d (%v), want %d", got, err, tt.wantStatus)
			}
		})
	}
}

func TestSafePath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "/default", true},
		{"/payment/success", "/payment/success", true},
		{"/a?b=c", "/a?b=c", true},
		{"https://evil.example", "", false},
		{"//evil.example", "", false},
		{"/\\evil.example", "", false},
		{"evil.example", "", false},
		{"/x\nSet-Cookie:a", "", false},
		{"javascript:alert(1)", "", false},
		{"/%", "", false},
		{"/%4", "", false},
		{"/a b", "", false},
		{"/%41", "/%41", true},
		{"/a%zz", "", false},
		{"/a?b=%", "", false},
		{"/a#%", "", false},
		{"/a%20b?c=%2F#d", "/a%20b?c=%2F#d", true},
		{"/payment/success?session_id={CHECKOUT_SESSION_ID}", "/payment/success?session_id={CHECKOUT_SESSION_ID}", true},
		{"/@evil.example", "/@evil.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := SafePath("successPath", tt.in, "/default")
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("SafePath(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	tests := []struct {
		name, method, origin string
		origins              []string
		wantStatus           int
		wantAllowOrigin      string
	}{
		{"preflight allowed origin", "OPTIONS", "https://app.example", []string{"https://app.example"}, 204, "https://app.example"},
		{"preflight other origin", "OPTIONS", "https://evil.example", []string{"https://app.example"}, 204, ""},
		{"star", "POST", "https://any.example", []string{"*"}, 299, "*"},
		{"post allowed", "POST", "https://app.example", []string{"https://app.example/"}, 299, "https://app.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(tt.method, "/", nil)
			r.Header.Set("Origin", tt.origin)
			CORS(tt.origins, next).ServeHTTP(rec, r)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantAllowOrigin {
				t.Fatalf("allow origin %q, want %q", got, tt.wantAllowOrigin)
			}
			allow := rec.Header().Get("Access-Control-Allow-Headers")
			for _, h := range []string{"authorization", "x-client-info", "apikey", "content-type", "x-retry-count", "traceparent", "tracestate", "baggage"} {
				if !strings.Contains(allow, h) {
					t.Fatalf("allow headers %q lacks %s", allow, h)
				}
			}
		})
	}
}

func TestMiddlewareRecoversPanics(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := Middleware("fn", log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if RequestID(r.Context()) == "" {
			t.Error("no request ID in context")
		}
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || decodeError(t, rec).Error != CodeInternal {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id header")
	}
	if !strings.Contains(logs.String(), `"panic":"boom"`) {
		t.Fatalf("panic not logged: %s", logs.String())
	}
}

func TestMethods(t *testing.T) {
	h := Handle(func(w http.ResponseWriter, r *http.Request) error { return Methods(r, "POST") })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("DELETE", "/", nil))
	if rec.Code != 405 || decodeError(t, rec).Error != CodeMethodNotAllowed {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
}

func TestServeStopsOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "127.0.0.1:0", http.NotFoundHandler(), slog.New(slog.DiscardHandler)) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
