//go:build !wasip1

package httpkit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// HTTPLambdaHandler adapts h to both payload formats API Gateway sends to
// Lambda: 2.0 (HTTP APIs and Function URLs; LambdaHandler) and 1.0 (REST
// APIs, or an HTTP API set to format 1.0; LambdaV1Handler). A 1.0 event
// has the method at its top level (httpMethod), a 2.0 event under
// requestContext.http. Both answers are in the invocation's own format.
func HTTPLambdaHandler(h http.Handler) func(ctx context.Context, raw json.RawMessage) (any, error) {
	v1, v2 := LambdaV1Handler(h), LambdaHandler(h)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		if isV1Event(raw) {
			return v1(ctx, raw)
		}
		return v2(ctx, raw)
	}
}

// isV1Event reports whether raw is an HTTP request in payload format 1.0.
func isV1Event(raw json.RawMessage) bool {
	var probe struct {
		HTTPMethod string `json:"httpMethod"`
	}
	return json.Unmarshal(raw, &probe) == nil && probe.HTTPMethod != ""
}

// LambdaV1Handler adapts h to payload format 1.0
// (events.APIGatewayProxyRequest): the event is read as the 2.0 request it
// describes (method, path, every query value, headers with repeated values
// joined by commas as 2.0 has them, the base64 body decoded, so a webhook
// verifies its signature over the bytes Stripe sent) and served as
// LambdaHandler serves it; the answer goes back in the 1.0 shape, every
// header value (each Set-Cookie included) in multiValueHeaders.
func LambdaV1Handler(h http.Handler) func(ctx context.Context, raw json.RawMessage) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, raw json.RawMessage) (events.APIGatewayProxyResponse, error) {
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &ev); err != nil || ev.HTTPMethod == "" {
			return events.APIGatewayProxyResponse{}, fmt.Errorf("lambda: not an API Gateway payload 1.0 HTTP event: %v", err)
		}
		v2 := serveV2(ctx, h, V2FromV1(ev))
		res := events.APIGatewayProxyResponse{StatusCode: v2.StatusCode, Body: v2.Body,
			MultiValueHeaders: make(map[string][]string, len(v2.Headers)+1)}
		for k, v := range v2.Headers {
			res.MultiValueHeaders[k] = []string{v}
		}
		if len(v2.Cookies) > 0 {
			res.MultiValueHeaders["Set-Cookie"] = v2.Cookies
		}
		return res, nil
	}
}

// V2FromV1 is the payload 2.0 request a 1.0 event describes.
func V2FromV1(ev events.APIGatewayProxyRequest) events.APIGatewayV2HTTPRequest {
	query := url.Values{}
	for k, v := range ev.QueryStringParameters {
		query.Set(k, v)
	}
	for k, vs := range ev.MultiValueQueryStringParameters {
		query[k] = vs
	}
	headers := make(map[string]string, len(ev.Headers))
	for k, v := range ev.Headers {
		headers[k] = v
	}
	for k, vs := range ev.MultiValueHeaders {
		headers[k] = strings.Join(vs, ",")
	}
	out := events.APIGatewayV2HTTPRequest{RawPath: ev.Path, RawQueryString: query.Encode(), Headers: headers,
		Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded}
	out.RequestContext.HTTP.Method = ev.HTTPMethod
	out.RequestContext.HTTP.SourceIP = ev.RequestContext.Identity.SourceIP
	out.RequestContext.RequestID = ev.RequestContext.RequestID
	out.RequestContext.DomainName = ev.RequestContext.DomainName
	return out
}
