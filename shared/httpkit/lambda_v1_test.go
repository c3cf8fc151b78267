//go:build !wasip1

package httpkit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76/webhook"
)

// v1Webhook is a signed Stripe webhook as an API Gateway REST API (payload
// format 1.0) sends it: base64 body, repeated query values.
func v1Webhook(t *testing.T) (json.RawMessage, []byte, events.APIGatewayProxyRequest) {
	t.Helper()
	body := capturedWebhookBody(t)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: webhookTestSecret,
		Timestamp: time.Now()})
	ev := events.APIGatewayProxyRequest{
		Resource: "/functions/v1/handle-stripe-webhook", Path: "/functions/v1/handle-stripe-webhook",
		HTTPMethod: http.MethodPost,
		Headers:    map[string]string{"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": signed.Header},
		MultiValueHeaders: map[string][]string{"Content-Type": {"application/json; charset=utf-8"},
			"Stripe-Signature": {signed.Header}, "X-Forwarded-For": {"203.0.113.7", "198.51.100.2"}},
		QueryStringParameters:           map[string]string{"a": "2"},
		MultiValueQueryStringParameters: map[string][]string{"a": {"1", "2"}},
		RequestContext: events.APIGatewayProxyRequestContext{Stage: "prod", RequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
			HTTPMethod: http.MethodPost, Path: "/prod/functions/v1/handle-stripe-webhook",
			Identity: events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7"}},
		Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return raw, body, ev
}

// TestHTTPLambdaHandlerPayloadV1: an API Gateway REST API event (payload
// 1.0) reaches the handler with its method, path, every query and header
// value and the decoded body, and a signed webhook verifies. Before, the
// adapter read only 2.0 fields: the handler saw GET "/" and the webhook
// answered 405.
func TestHTTPLambdaHandlerPayloadV1(t *testing.T) {
	raw, body, ev := v1Webhook(t)
	if !IsHTTPEvent(raw) {
		t.Fatal("IsHTTPEvent does not take the 1.0 shape for an HTTP request")
	}
	var got seen
	res, err := EventLambdaHandler("handle-stripe-webhook", echoHandler(&got), nil,
		func(context.Context, json.RawMessage) (any, error) {
			t.Fatal("an HTTP event reached onEvent")
			return nil, nil
		})(
		context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.(events.APIGatewayProxyResponse); !ok {
		t.Errorf("answer %T, want the 1.0 response", res)
	}
	if got.method != http.MethodPost || got.path != "/functions/v1/handle-stripe-webhook" || got.query != "a=1&a=2" {
		t.Errorf("handler saw %s %q ? %q, want POST /functions/v1/handle-stripe-webhook ? a=1&a=2", got.method, got.path, got.query)
	}
	if string(got.body) != string(body) {
		t.Errorf("handler saw a body of %d bytes, want the %d decoded bytes Stripe signed", len(got.body), len(body))
	}
	if xff := got.header.Values("X-Forwarded-For"); !slices.Equal(xff, []string{"203.0.113.7,198.51.100.2"}) {
		t.Errorf("X-Forwarded-For %v, want both values, joined as payload 2.0 has them", xff)
	}
	if got.platformID != ev.RequestContext.RequestID || got.remote != "203.0.113.7" {
		t.Errorf("platform request id %q, remote %q", got.platformID, got.remote)
	}

	// As the webhook function serves it: POST only, then the signature.
	verify := webhookHandler(true)
	hook := Handle(func(w http.ResponseWriter, r *http.Request) error {
		if err := Methods(r, http.MethodPost); err != nil {
			return err
		}
		verify.ServeHTTP(w, r)
		return nil
	})
	out, err := HTTPLambdaHandler(hook)(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(events.APIGatewayProxyResponse); r.StatusCode != http.StatusOK {
		t.Errorf("a signed REST API (1.0) webhook answered %d %s, want 200", r.StatusCode, r.Body)
	}
}

// TestResponseToV1KeepsEveryHeaderValue: the 1.0 answer has no cookies
// field; every header value, each Set-Cookie included, is in
// multiValueHeaders, with the status and body.
func TestResponseToV1KeepsEveryHeaderValue(t *testing.T) {
	raw, _, _ := v1Webhook(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":"rate_limited"}`))
	})
	out, err := HTTPLambdaHandler(h)(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	r := out.(events.APIGatewayProxyResponse)
	if r.StatusCode != http.StatusTooManyRequests || r.Body != `{"error":"rate_limited"}` ||
		!slices.Equal(r.MultiValueHeaders["Set-Cookie"], []string{"a=1", "b=2"}) ||
		!slices.Equal(r.MultiValueHeaders["Retry-After"], []string{"3"}) {
		t.Errorf("answer %+v", r)
	}
}

// TestLambdaHandlerRefusesPayloadV1: the 2.0 adapter alone does not read a
// 1.0 event as a GET of "/".
func TestLambdaHandlerRefusesPayloadV1(t *testing.T) {
	raw, _, _ := v1Webhook(t)
	var got seen
	if _, err := LambdaHandler(echoHandler(&got))(context.Background(), raw); err == nil || got.method != "" {
		t.Errorf("LambdaHandler took a 1.0 event: err %v, handler saw %q", err, got.method)
	}
}
