package outbound

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestClientUsesTimeoutAndReachesServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	c := Client(3 * time.Second)
	if c.Timeout != 3*time.Second {
		t.Fatalf("timeout = %v, want 3s", c.Timeout)
	}
	res, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if b, _ := io.ReadAll(res.Body); string(b) != "ok" {
		t.Fatalf("body = %q", b)
	}
}
