//go:build !wasip1

package httpkit

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// logLines decodes the JSON log lines in b.
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestClientRequestIDDoesNotReplaceOurs is finding 4 of the security review:
// a client's X-Request-Id must not become the request ID of the logs and
// the answer; it is logged, bounded, as client_request_id.
func TestClientRequestIDDoesNotReplaceOurs(t *testing.T) {
	long := strings.Repeat("a", 500)
	tests := []struct {
		name       string
		platformID string // what the Lambda adapter found; "" = none (local server)
		client     string
		wantClient string
	}{
		{"generated id, forged client id", "", "victim-request-7", "victim-request-7"},
		{"platform id, forged client id", "apigw-id-1", "victim-request-7", "victim-request-7"},
		{"client id with a line break", "", "x\n{\"level\":\"ERROR\"}", `x_{"level":"ERROR"}`},
		{"overlong client id", "", long, long[:maxClientRequestID]},
		{"no client id", "apigw-id-2", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			var inHandler string
			h := Middleware("fn", slog.New(slog.NewJSONHandler(&logs, nil)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inHandler = RequestID(r.Context())
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if tt.client != "" {
				req.Header.Set("X-Request-Id", tt.client)
			}
			req = req.WithContext(WithPlatformRequestID(context.Background(), tt.platformID))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			id := rec.Header().Get("X-Request-Id")
			if id == "" || id == tt.client || id != inHandler {
				t.Fatalf("answer's X-Request-Id %q, handler's %q, client sent %q: want our own ID in both", id, inHandler, tt.client)
			}
			if tt.platformID != "" && id != tt.platformID {
				t.Fatalf("request ID %q, want the platform's %q", id, tt.platformID)
			}
			lines := logLines(t, &logs)
			access := lines[len(lines)-1]
			if access["request_id"] != id {
				t.Fatalf("log request_id %v, want %q", access["request_id"], id)
			}
			got, _ := access["client_request_id"].(string)
			if got != tt.wantClient {
				t.Fatalf("log client_request_id %q, want %q", got, tt.wantClient)
			}
		})
	}
}

// TestLambdaRequestIDIsThePlatforms checks the adapter end to end: API
// Gateway's request ID wins over a client's header.
func TestLambdaRequestIDIsThePlatforms(t *testing.T) {
	var logs bytes.Buffer
	h := LambdaHandler(Middleware("check-subscription", slog.New(slog.NewJSONHandler(&logs, nil)), http.NotFoundHandler()))
	ev := editEvent(t, readEvent(t, "apigw-v2-check-subscription.json"), func(ev map[string]any) {
		ev["headers"].(map[string]any)["x-request-id"] = "forged-by-client"
	})
	res, err := h(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Headers["X-Request-Id"]; got != "LV7fzho-PHcEJPw=" {
		t.Fatalf("X-Request-Id %q, want API Gateway's LV7fzho-PHcEJPw=", got)
	}
	if !strings.Contains(logs.String(), `"request_id":"LV7fzho-PHcEJPw="`) || !strings.Contains(logs.String(), `"client_request_id":"forged-by-client"`) {
		t.Fatalf("logs: %s", logs.String())
	}
}
