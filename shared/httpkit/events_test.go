//go:build !wasip1

package httpkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// scheduledEvent is what EventBridge Scheduler / a schedule rule sends.
const scheduledEvent = `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",
"source":"aws.events","account":"123456789012","time":"2026-11-21T03:00:00Z","region":"ap-northeast-1",
"resources":["arn:aws:events:ap-northeast-1:123456789012:rule/billing-reconcile-daily"],"detail":{}}`

func TestIsHTTPEvent(t *testing.T) {
	tests := []struct {
		name string
		raw  json.RawMessage
		want bool
	}{
		{"API Gateway v2", readEvent(t, "apigw-v2-check-subscription.json"), true},
		{"API Gateway v2 base64 webhook", readEvent(t, webhookEventFile), true},
		{"Function URL", readEvent(t, "lambda-url-create-checkout-session.json"), true},
		{"REST API v1 shape", json.RawMessage(`{"httpMethod":"POST","path":"/x","requestContext":{"stage":"prod"}}`), true},
		{"EventBridge schedule", json.RawMessage(scheduledEvent), false},
		{"direct invocation payload", json.RawMessage(`{"apply": true}`), false},
		{"requestContext without http", json.RawMessage(`{"requestContext":{"requestId":"x"}}`), false},
		{"not an object", json.RawMessage(`[1]`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsHTTPEvent(tt.raw); got != tt.want {
				t.Fatalf("IsHTTPEvent = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEventLambdaHandlerRoutes(t *testing.T) {
	var got seen
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	var eventRaw json.RawMessage
	onEvent := func(ctx context.Context, raw json.RawMessage) (any, error) {
		eventRaw = raw
		Logger(ctx).InfoContext(ctx, "event handled")
		if strings.Contains(string(raw), "fail") {
			return nil, errors.New("run failed")
		}
		return map[string]any{"ran": true, "request_id": RequestID(ctx)}, nil
	}
	h := EventLambdaHandler("reconcile-subscriptions", echoHandler(&got), log, onEvent)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-req-1"})

	t.Run("HTTP goes to the handler", func(t *testing.T) {
		out, err := h(ctx, readEvent(t, "apigw-v2-check-subscription.json"))
		if err != nil {
			t.Fatal(err)
		}
		res, ok := out.(events.APIGatewayV2HTTPResponse)
		if !ok || res.StatusCode != http.StatusCreated || got.path != "/functions/v1/check-subscription" {
			t.Fatalf("answer %#v, handler saw %+v", out, got)
		}
		if eventRaw != nil {
			t.Fatal("an HTTP request reached onEvent")
		}
	})
	t.Run("a schedule goes to onEvent", func(t *testing.T) {
		got = seen{}
		out, err := h(ctx, json.RawMessage(scheduledEvent))
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := out.(map[string]any); m["ran"] != true || m["request_id"] != "aws-req-1" {
			t.Fatalf("answer %#v", out)
		}
		if got.path != "" || !strings.Contains(string(eventRaw), "Scheduled Event") {
			t.Fatalf("handler saw %+v, onEvent saw %s", got, eventRaw)
		}
		if !strings.Contains(logs.String(), `"function":"reconcile-subscriptions"`) || !strings.Contains(logs.String(), `"request_id":"aws-req-1"`) {
			t.Fatalf("event log lines lack the function and request ID: %s", logs.String())
		}
	})
	t.Run("onEvent's error fails the invocation", func(t *testing.T) {
		if _, err := h(ctx, json.RawMessage(`{"fail": true}`)); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("without onEvent a non-HTTP event is refused as before", func(t *testing.T) {
		plain := EventLambdaHandler("x", echoHandler(&got), nil, nil)
		if _, err := plain(ctx, json.RawMessage(`[1, 2]`)); err == nil {
			t.Fatal("accepted")
		}
	})
}
