package httpkit

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
)

// EventFunc handles a Lambda invocation that is not an HTTP request: an
// EventBridge scheduled event, or the payload of a direct `aws lambda
// invoke`. Only principals with lambda:InvokeFunction can send one (API
// Gateway and Function URLs always send HTTP requests). Its result is the
// invocation's JSON answer; an error fails the invocation.
type EventFunc func(ctx context.Context, raw json.RawMessage) (any, error)

// IsHTTPEvent reports whether raw is an HTTP request as API Gateway or a
// Function URL sends it (payload format 2.0, or the REST API's 1.0 shape):
// requestContext.http.method or httpMethod is set.
func IsHTTPEvent(raw json.RawMessage) bool {
	var probe struct {
		HTTPMethod     string `json:"httpMethod"`
		RequestContext *struct {
			HTTP *struct {
				Method string `json:"method"`
			} `json:"http"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return false
	}
	if probe.HTTPMethod != "" {
		return true
	}
	rc := probe.RequestContext
	return rc != nil && rc.HTTP != nil && rc.HTTP.Method != ""
}

// RunWithEvents is Run for a function that also takes non-HTTP events. On
// AWS Lambda, HTTP requests go to h exactly as with Run, and every other
// event to onEvent with a context that carries a logger (the function's
// name and Lambda's request ID). Locally it is Run: onEvent is reached
// through whatever HTTP route h offers.
func RunWithEvents(name string, h http.Handler, log *slog.Logger, onEvent EventFunc) {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" || onEvent == nil {
		Run(name, h, log)
		return
	}
	if log == nil {
		log = slog.Default()
	}
	slog.SetDefault(log)
	log.Info("starting on AWS Lambda", "function", name, "non_http_events", true)
	startLambdaWithEvents(name, h, log, onEvent)
}
