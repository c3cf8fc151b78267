package httpkit_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"billing/shared/httpkit"
)

// TestAbandonedRequestIsNotAnError: a handler that fails because the client
// went away (its context was cancelled, as a database call then answers
// "context canceled") is logged at info as abandoned, not at error level as
// a failure of ours; a 5xx of a client still waiting stays an error.
func TestAbandonedRequestIsNotAnError(t *testing.T) {
	tests := []struct {
		name      string
		cancel    bool
		wantLevel string
		wantMsg   string
	}{
		{"client gone", true, "INFO", "request abandoned by the client"},
		{"client waiting", false, "ERROR", "request failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			h := httpkit.Middleware("check-subscription", log, httpkit.Handle(func(w http.ResponseWriter, r *http.Request) error {
				return httpkit.Internal(fmt.Errorf("billing_user_state: %w", context.Cause(r.Context())))
			}))
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancel {
				cancel()
			} else {
				defer cancel()
			}
			req := httptest.NewRequest("GET", "/functions/v1/check-subscription", nil).WithContext(ctx)
			h.ServeHTTP(httptest.NewRecorder(), req)
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, `"code":"internal_error"`) {
					line = l
				}
			}
			if line == "" {
				t.Fatalf("no log line with the error's code:\n%s", logs.String())
			}
			if !strings.Contains(line, `"level":"`+tt.wantLevel+`"`) || !strings.Contains(line, tt.wantMsg) {
				t.Fatalf("want level %s %q, got %s", tt.wantLevel, tt.wantMsg, line)
			}
		})
	}
}
