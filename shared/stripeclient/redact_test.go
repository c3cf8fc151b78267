package stripeclient

// Stripe echoes a rejected email address in its error message ("Invalid
// email address: <address>"). create-checkout-session sends the token's email
// when it creates the customer; the address must reach neither the logs
// (stripe-go's own line, or the cause the handler logs) nor the body.

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"billing/shared/httpkit"
)

func TestRejectedEmailNeverReachesLogs(t *testing.T) {
	const addr = "taro.yamada@gmail"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_review")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":"email_invalid","doc_url":"https://stripe.com/docs/error-codes/email-invalid",` +
			`"message":"Invalid email address: ` + addr + `","param":"email","type":"invalid_request_error"}}`))
	}))
	defer srv.Close()

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api := New("sk_test_review", srv.URL, nil, log)

	p := &stripe.CustomerParams{Email: stripe.String(addr)}
	_, err := api.Customers.New(p)
	if err == nil {
		t.Fatal("no error")
	}
	stripeLog := buf.String()

	// The handler path: stripeclient.Error, then httpkit.WriteError logs the cause.
	buf.Reset()
	req := httptest.NewRequest(http.MethodPost, "/functions/v1/create-checkout-session", nil)
	req = req.WithContext(httpkit.WithLogger(context.Background(), log))
	rec := httptest.NewRecorder()
	httpkit.WriteError(rec, req, Error(req.Context(), "create customer", err))
	handlerLog := buf.String()

	if strings.Contains(rec.Body.String(), addr) {
		t.Errorf("the address is in the response body: %s", rec.Body.String())
	}
	if strings.Contains(stripeLog, addr) {
		t.Errorf("stripe-go's own error line (routed by leveled.Errorf) logs the address:\n%s", stripeLog)
	}
	if strings.Contains(handlerLog, addr) {
		t.Errorf("WriteError logs the address in the cause:\n%s", handlerLog)
	}
}
