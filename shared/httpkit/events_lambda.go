//go:build !wasip1

package httpkit

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func startLambdaWithEvents(name string, h http.Handler, log *slog.Logger, onEvent EventFunc) {
	lambda.Start(EventLambdaHandler(name, h, log, onEvent))
}

// EventLambdaHandler routes a Lambda invocation: HTTP requests (IsHTTPEvent)
// to HTTPLambdaHandler(h), anything else to onEvent, whose context carries a
// logger with the function's name and Lambda's request ID. log may be nil.
func EventLambdaHandler(name string, h http.Handler, log *slog.Logger, onEvent EventFunc) func(ctx context.Context, raw json.RawMessage) (any, error) {
	httpHandler := HTTPLambdaHandler(h)
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		if onEvent == nil || IsHTTPEvent(raw) {
			return httpHandler(ctx, raw)
		}
		l := log.With("function", name)
		if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
			l = l.With("request_id", lc.AwsRequestID)
			ctx = context.WithValue(ctx, requestIDKey, lc.AwsRequestID)
		}
		return onEvent(WithLogger(ctx, l), raw)
	}
}
