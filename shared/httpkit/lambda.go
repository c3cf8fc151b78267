//go:build !wasip1

package httpkit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func listen(addr string) (net.Listener, error) { return listenTCP(addr) }

func startLambda(h http.Handler) { lambda.Start(HTTPLambdaHandler(h)) }

// LambdaHandler adapts h to the Lambda payload format 2.0 that API Gateway
// HTTP APIs and Lambda Function URLs send (events.APIGatewayV2HTTPRequest
// and events.LambdaFunctionURLRequest have the same shape); a 1.0 event is
// an error (HTTPLambdaHandler takes both). A base64 body is decoded before
// h sees it, so a webhook verifies its signature over the bytes Stripe
// sent.
func LambdaHandler(h http.Handler) func(ctx context.Context, raw json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, raw json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("lambda: not an HTTP API v2 or Function URL event: %w", err)
		}
		if isV1Event(raw) {
			// Read as 2.0 it would be a GET of "/": HTTPLambdaHandler
			// serves this format.
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("lambda: an API Gateway payload 1.0 event; use HTTPLambdaHandler")
		}
		return serveV2(ctx, h, ev), nil
	}
}

// serveV2 serves one payload 2.0 request with h.
func serveV2(ctx context.Context, h http.Handler, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	req, err := RequestFromV2(ctx, ev)
	if err != nil {
		return jsonResponse(http.StatusBadRequest, CodeInvalidRequest, "The request body is not valid base64.")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return ResponseToV2(rec)
}

// RequestFromV2 builds the http.Request an API Gateway v2 event describes.
func RequestFromV2(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if path == "" {
		path = "/"
	}
	target := path
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://lambda"+target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.RequestURI = target
	for k, v := range ev.Headers {
		// API Gateway joins repeated headers with commas; keep them as one value.
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
	} else if ev.RequestContext.DomainName != "" {
		req.Host = ev.RequestContext.DomainName
	}
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.ContentLength = int64(len(body))
	// The platform's request ID is ours; a client's X-Request-Id header
	// stays a header (Middleware logs it apart).
	platformID := ev.RequestContext.RequestID
	if platformID == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			platformID = lc.AwsRequestID
		}
	}
	return req.WithContext(WithPlatformRequestID(req.Context(), platformID)), nil
}

// ResponseToV2 turns a recorded response into the Lambda answer.
func ResponseToV2(rec *httptest.ResponseRecorder) events.APIGatewayV2HTTPResponse {
	res := events.APIGatewayV2HTTPResponse{StatusCode: rec.Code, Headers: map[string]string{}}
	for k, vs := range rec.Header() {
		if strings.EqualFold(k, "Set-Cookie") {
			res.Cookies = append(res.Cookies, vs...)
			continue
		}
		res.Headers[k] = strings.Join(vs, ", ")
	}
	res.Body = rec.Body.String()
	return res
}

func jsonResponse(status int, code, msg string) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(errorBody{Error: code, Message: msg})
	return events.APIGatewayV2HTTPResponse{StatusCode: status,
		Headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}, Body: string(b)}
}
