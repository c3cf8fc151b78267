//go:build !wasip1

package httpkit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76/webhook"
)

// The webhook event in testdata is signed with this test secret at this time
// (see testdata/README.md).
const (
	webhookTestSecret = "whsec_lambdaAdapterTestSecret"
	webhookSignedAt   = 1623148920
	webhookEventFile  = "apigw-v2-stripe-webhook-base64.json"
)

func readEvent(t *testing.T, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// editEvent decodes a captured event, lets edit change it, and encodes it.
func editEvent(t *testing.T, raw json.RawMessage, edit func(ev map[string]any)) json.RawMessage {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	edit(ev)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seen is what the handler behind the adapter received.
type seen struct {
	method, path, query, host, remote, requestURI string
	platformID                                    string
	header                                        http.Header
	body                                          []byte
	contentLength                                 int64
}

// echoHandler records the request and answers with a status, headers,
// two cookies and a body, all of which the adapter must carry back.
func echoHandler(got *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		*got = seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, host: r.Host, remote: r.RemoteAddr,
			requestURI: r.RequestURI, platformID: platformRequestID(r.Context()), header: r.Header.Clone(), body: body, contentLength: r.ContentLength}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Echo", "a")
		w.Header().Add("X-Echo", "b")
		http.SetCookie(w, &http.Cookie{Name: "one", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "two", Value: "2", HttpOnly: true})
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
}

func TestLambdaHandlerCapturedEvents(t *testing.T) {
	tests := []struct {
		file                    string
		method, path, query     string
		host, remote, requestID string
		headers                 map[string]string
		cookie                  string
		body                    string
	}{
		{
			file: "apigw-v2-check-subscription.json", method: "GET", path: "/functions/v1/check-subscription",
			query: "source=pricing&source=header&lang=ja", host: "aaaaaaaaaa.execute-api.ap-northeast-1.amazonaws.com",
			remote: "203.0.113.7", requestID: "LV7fzho-PHcEJPw=",
			headers: map[string]string{"Authorization": "Bearer user-access-token", "Apikey": "public-anon-key",
				"X-Client-Info": "supabase-js-web/2.45.4", "Origin": "https://app.example.com"},
			cookie: "theme=dark; sb-consent=1", body: "",
		},
		{
			file: "lambda-url-create-checkout-session.json", method: "POST", path: "/functions/v1/create-checkout-session",
			query: "parameter1=value1&parameter1=value2&parameter2=value", host: "<url-id>.lambda-url.us-west-2.on.aws",
			remote: "123.123.123.123", requestID: "id",
			headers: map[string]string{"Authorization": "Bearer user-access-token", "Content-Type": "application/json",
				"Header1": "value1", "Header2": "value1,value2"},
			cookie: "cookie1; cookie2",
			body:   `{"plan": "standard", "successPath": "/payment/success", "userId": "ignored"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var got seen
			res, err := LambdaHandler(echoHandler(&got))(context.Background(), readEvent(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got.method != tt.method || got.path != tt.path || got.query != tt.query || got.requestURI != tt.path+"?"+tt.query {
				t.Fatalf("request %s %s ? %s (URI %s), want %s %s ? %s", got.method, got.path, got.query, got.requestURI, tt.method, tt.path, tt.query)
			}
			if got.host != tt.host || got.remote != tt.remote {
				t.Fatalf("host %q remote %q, want %q %q", got.host, got.remote, tt.host, tt.remote)
			}
			if got.platformID != tt.requestID {
				t.Fatalf("platform request ID %q, want %q", got.platformID, tt.requestID)
			}
			for k, v := range tt.headers {
				if vs := got.header.Values(k); !slices.Equal(vs, []string{v}) {
					t.Errorf("header %s = %q, want [%q]", k, vs, v)
				}
			}
			if c := got.header.Get("Cookie"); c != tt.cookie {
				t.Errorf("Cookie %q, want %q", c, tt.cookie)
			}
			if string(got.body) != tt.body || got.contentLength != int64(len(tt.body)) {
				t.Errorf("body %q (length %d), want %q", got.body, got.contentLength, tt.body)
			}
			if res.StatusCode != http.StatusCreated || res.Body != `{"ok":true}` || res.IsBase64Encoded {
				t.Errorf("response %d %q (base64 %v)", res.StatusCode, res.Body, res.IsBase64Encoded)
			}
			if res.Headers["Content-Type"] != "application/json" || res.Headers["X-Echo"] != "a, b" {
				t.Errorf("response headers %v", res.Headers)
			}
			if _, ok := res.Headers["Set-Cookie"]; ok || !slices.Equal(res.Cookies, []string{"one=1", "two=2; HttpOnly"}) {
				t.Errorf("cookies %q, headers %v: Set-Cookie belongs in Cookies", res.Cookies, res.Headers)
			}
		})
	}
}

// webhookHandler verifies the Stripe signature over the bytes it receives,
// as the webhook function does, and answers with the event's ID and type.
func webhookHandler(tolerance bool) http.Handler {
	return Handle(func(w http.ResponseWriter, r *http.Request) error {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), webhookTestSecret,
			webhook.ConstructEventOptions{IgnoreTolerance: !tolerance, IgnoreAPIVersionMismatch: true})
		if err != nil {
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "Bad signature.", Cause: err}
		}
		WriteJSON(w, http.StatusOK, map[string]string{"id": ev.ID, "type": string(ev.Type)})
		return nil
	})
}

// capturedWebhookBody is the decoded body of the captured webhook event.
func capturedWebhookBody(t *testing.T) []byte {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(readEvent(t, webhookEventFile), &ev); err != nil {
		t.Fatal(err)
	}
	if !ev.IsBase64Encoded {
		t.Fatal("the captured webhook event is not base64-encoded")
	}
	body, err := base64.StdEncoding.DecodeString(ev.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestLambdaHandlerBase64Webhook(t *testing.T) {
	raw := readEvent(t, webhookEventFile)
	body := capturedWebhookBody(t)

	t.Run("the captured signature is Stripe's over the decoded body", func(t *testing.T) {
		want := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
			Payload: body, Secret: webhookTestSecret, Timestamp: time.Unix(webhookSignedAt, 0)}).Header
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Headers["stripe-signature"] != want {
			t.Fatalf("stripe-signature %q, want %q", ev.Headers["stripe-signature"], want)
		}
	})

	fresh := func(ev map[string]any) {
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: webhookTestSecret})
		ev["headers"].(map[string]any)["stripe-signature"] = signed.Header
	}
	tests := []struct {
		name       string
		event      json.RawMessage
		tolerance  bool
		wantStatus int
		wantBody   string
	}{
		{"captured event verifies", raw, false, 200, `{"id":"evt_1J02NfJDPojXS6LNawmt1X8q","type":"customer.subscription.created"}`},
		{"signed now, within Stripe's tolerance", editEvent(t, raw, fresh), true, 200, `"type":"customer.subscription.created"`},
		{"signature over the base64 text fails", editEvent(t, raw, func(ev map[string]any) { ev["isBase64Encoded"] = false }), false, 400, `"message":"Bad signature."`},
		{"one byte changed fails", editEvent(t, raw, func(ev map[string]any) {
			changed := strings.Replace(string(body), `"active"`, `"Active"`, 1)
			ev["body"] = base64.StdEncoding.EncodeToString([]byte(changed))
		}), false, 400, `"message":"Bad signature."`},
		{"not base64", editEvent(t, raw, func(ev map[string]any) { ev["body"] = "%%%not base64%%%" }), false, 400,
			`{"error":"invalid_request","message":"The request body is not valid base64."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := LambdaHandler(webhookHandler(tt.tolerance))(context.Background(), tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.wantStatus || !strings.Contains(res.Body, tt.wantBody) {
				t.Fatalf("response %d %s, want %d with %s", res.StatusCode, res.Body, tt.wantStatus, tt.wantBody)
			}
			if ct := res.Headers["Content-Type"]; !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

func TestLambdaHandlerThroughTheKit(t *testing.T) {
	called := false
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true })
	h := LambdaHandler(Middleware("check-subscription", slog.New(slog.DiscardHandler),
		CORS([]string{"https://app.example.com"}, next)))
	preflight := editEvent(t, readEvent(t, "apigw-v2-check-subscription.json"), func(ev map[string]any) {
		ev["requestContext"].(map[string]any)["http"].(map[string]any)["method"] = "OPTIONS"
		delete(ev["headers"].(map[string]any), "authorization")
	})
	res, err := h(context.Background(), preflight)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusNoContent || called {
		t.Fatalf("preflight: %d, handler called %v", res.StatusCode, called)
	}
	if res.Headers["Access-Control-Allow-Origin"] != "https://app.example.com" ||
		res.Headers["Access-Control-Allow-Headers"] != CORSAllowHeaders || res.Headers["X-Request-Id"] != "LV7fzho-PHcEJPw=" {
		t.Fatalf("preflight headers %v", res.Headers)
	}
}

func TestLambdaHandlerRejectsNonHTTPEvents(t *testing.T) {
	for _, raw := range []string{`[1, 2]`, `"text"`, `{"headers": "not a map"}`} {
		if _, err := LambdaHandler(http.NotFoundHandler())(context.Background(), json.RawMessage(raw)); err == nil {
			t.Errorf("event %s was accepted", raw)
		}
	}
}
