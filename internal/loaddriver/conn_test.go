package loaddriver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestConnAnswers sends the same requests with the lean client and with
// net/http and checks both read the same status, header and body, for
// every framing the function servers use.
func TestConnAnswers(t *testing.T) {
	big := strings.Repeat("x", 50_000)
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Seen", r.Header.Get("Authorization")+"|"+r.URL.RawQuery)
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, big[:20_000])
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, big[20_000:])
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Length", r.Header.Get("Content-Length"))
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		http.Error(w, "bye", http.StatusServiceUnavailable)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
		wantHeader               [2]string
	}{
		{"content-length", "GET", "/small?a=1&b=2", "", 201, `{"ok":true}`, [2]string{"X-Seen", "Bearer t|a=1&b=2"}},
		{"chunked", "GET", "/chunked", "", 200, big, [2]string{"Transfer-Encoding", "chunked"}},
		{"post body", "POST", "/echo", `{"id":"evt_1"}`, 200, `{"id":"evt_1"}`, [2]string{"X-Length", "14"}},
		{"post empty", "POST", "/echo", "", 200, "", [2]string{"X-Length", "0"}},
		{"no content", "GET", "/empty", "", 204, "", [2]string{"Content-Length", ""}},
		{"connection close", "GET", "/close", "", 503, "bye\n", [2]string{"Connection", "close"}},
		{"not found", "GET", "/nothing", "", 404, "404 page not found\n", [2]string{"Content-Type", "text/plain; charset=utf-8"}},
	}
	c := &conn{timeout: 5 * time.Second}
	defer c.close()
	for round := range 2 { // the second round reuses the connection
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req := func() *http.Request {
					var body io.Reader
					if tt.method == "POST" {
						body = strings.NewReader(tt.body)
					}
					r, err := http.NewRequest(tt.method, srv.URL+tt.path, body)
					if err != nil {
						t.Fatal(err)
					}
					r.Header.Set("Authorization", "Bearer t")
					return r
				}
				res, got, err := c.roundTrip(req())
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				ref, want, err := httpDo(srv.Client(), req())
				if err != nil {
					t.Fatal(err)
				}
				if res.StatusCode != tt.wantStatus || ref.StatusCode != tt.wantStatus {
					t.Fatalf("status %d, net/http %d, want %d", res.StatusCode, ref.StatusCode, tt.wantStatus)
				}
				if string(got) != tt.wantBody || !bytes.Equal(got, want) {
					t.Fatalf("body %.80q (%d bytes), net/http %.80q, want %.80q", got, len(got), want, tt.wantBody)
				}
				if k, v := tt.wantHeader[0], tt.wantHeader[1]; res.Header.Get(k) != v {
					t.Fatalf("header %s = %q, want %q", k, res.Header.Get(k), v)
				}
			})
		}
	}
}

// TestConnRedialsAfterIdleClose: a server that closes a kept-alive
// connection between requests costs no error; one that fails mid-answer
// is an error.
func TestConnRedialsAfterIdleClose(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	c := &conn{timeout: 5 * time.Second}
	defer c.close()
	for i := range 3 {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if _, body, err := c.roundTrip(req); err != nil || string(body) != "ok" {
			t.Fatalf("request %d: %q, %v", i, body, err)
		}
		srv.CloseClientConnections()
		time.Sleep(10 * time.Millisecond)
	}
	if n.Load() != 3 {
		t.Fatalf("server saw %d requests, want 3", n.Load())
	}

	hijack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, _, _ := w.(http.Hijacker).Hijack()
		_, _ = io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
		nc.Close()
	}))
	defer hijack.Close()
	req, _ := http.NewRequest("GET", hijack.URL, nil)
	if _, body, err := c.roundTrip(req); err == nil {
		t.Fatalf("a cut answer read as %q without error", body)
	}
	req, _ = http.NewRequest("GET", "https://example.invalid/", nil)
	if _, _, err := c.roundTrip(req); err == nil {
		t.Fatal("an https URL was accepted")
	}
}

// TestRunCancelsInFlight: ending the context ends a request the server
// holds, with the lean client as with net/http.
func TestRunCancelsInFlight(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	res := Run(ctx, Load{Clients: 2, Next: func(int) *http.Request {
		r, _ := http.NewRequest("GET", srv.URL, nil)
		return r
	}})
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("Run took %v after its context ended", d)
	}
	if res.Requests != 0 {
		t.Fatalf("%d requests counted as answered", res.Requests)
	}
}
