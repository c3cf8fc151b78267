//go:build !wasip1

package httpkit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
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
// (events.APIGatewayProxyRequest): the method, path, query string and
// headers with every repeated value (multiValueQueryStringParameters and
// multiValueHeaders, when API Gateway sends them), and a base64 body
// decoded before h sees it, so a webhook verifies its signature over the
// bytes Stripe sent. The answer carries every header value, Set-Cookie
// included, in multiValueHeaders.
func LambdaV1Handler(h http.Handler) func(ctx context.Context, raw json.RawMessage) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, raw json.RawMessage) (events.APIGatewayProxyResponse, error) {
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &ev); err != nil || ev.HTTPMethod == "" {
			return events.APIGatewayProxyResponse{}, fmt.Errorf("lambda: not an API Gateway payload 1.0 HTTP event: %v", err)
		}
		req, err := RequestFromV1(ctx, ev)
		if err != nil {
			v2 := jsonResponse(http.StatusBadRequest, CodeInvalidRequest, "The request body is not valid base64.")
			return events.APIGatewayProxyResponse{StatusCode: v2.StatusCode, Body: v2.Body,
				MultiValueHeaders: map[string][]string{"Content-Type": {v2.Headers["Content-Type"]}}}, nil
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return ResponseToV1(rec), nil
	}
}

// RequestFromV1 builds the http.Request a payload 1.0 event describes.
func RequestFromV1(ctx context.Context, ev events.APIGatewayProxyRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	path := ev.Path
	if path == "" {
		path = "/"
	}
	query := url.Values{}
	if len(ev.MultiValueQueryStringParameters) > 0 {
		for k, vs := range ev.MultiValueQueryStringParameters {
			query[k] = append(query[k], vs...)
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			query.Set(k, v)
		}
	}
	target := (&url.URL{Path: path, RawQuery: query.Encode()}).RequestURI()
	req, err := http.NewRequestWithContext(ctx, ev.HTTPMethod, "http://lambda"+target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.RequestURI = target
	if len(ev.MultiValueHeaders) > 0 {
		for k, vs := range ev.MultiValueHeaders {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	} else {
		for k, v := range ev.Headers {
			req.Header.Set(k, v)
		}
	}
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
	} else if ev.RequestContext.DomainName != "" {
		req.Host = ev.RequestContext.DomainName
	}
	req.RemoteAddr = ev.RequestContext.Identity.SourceIP
	req.ContentLength = int64(len(body))
	platformID := ev.RequestContext.RequestID
	if platformID == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			platformID = lc.AwsRequestID
		}
	}
	return req.WithContext(WithPlatformRequestID(req.Context(), platformID)), nil
}

// ResponseToV1 turns a recorded response into the payload 1.0 answer.
func ResponseToV1(rec *httptest.ResponseRecorder) events.APIGatewayProxyResponse {
	res := events.APIGatewayProxyResponse{StatusCode: rec.Code, MultiValueHeaders: map[string][]string{}}
	for k, vs := range rec.Header() {
		res.MultiValueHeaders[k] = append([]string(nil), vs...)
	}
	res.Body = rec.Body.String()
	return res
}
