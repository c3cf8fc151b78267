package store_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"billing/shared/httpkit"
	"billing/shared/store"
)

func TestHTTPError(t *testing.T) {
	conflict := httpkit.NewError(http.StatusConflict, httpkit.CodeConflict, "taken")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"unavailable", fmt.Errorf("store: call: %w", store.ErrUnavailable), 503, httpkit.CodeUnavailable},
		{"database error", &store.Error{Code: "P0001", Message: "boom"}, 500, httpkit.CodeInternal},
		{"plain error", errors.New("boom"), 500, httpkit.CodeInternal},
		{"an *httpkit.Error passes through", fmt.Errorf("wrapped: %w", conflict), 409, httpkit.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var he *httpkit.Error
			if !errors.As(store.HTTPError(tt.err), &he) || he.Status != tt.wantStatus || he.Code != tt.wantCode {
				t.Fatalf("HTTPError(%v) = %v, want %d %s", tt.err, he, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus >= 500 && !errors.Is(he, tt.err) {
				t.Errorf("the cause %v is not kept for the logs", tt.err)
			}
		})
	}
}
