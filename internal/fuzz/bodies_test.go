package fuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/create-checkout-session/checkout"
	"billing/functions/create-portal-session/portal"
	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/functions/resume-subscription/resumesub"
	"billing/shared/httpkit"
)

// FuzzRequestBodies decodes any body into the params of every function
// that takes one, under the app body limit: a body is accepted or refused
// with 400, 413 or 415, never a panic or a 5xx; and every path field
// that SafePath accepts stays on the site.
func FuzzRequestBodies(f *testing.F) {
	f.Add([]byte(`{"plan":"standard","successPath":"/payment/success","cancelPath":"/pricing","userId":"x"}`), "application/json")
	f.Add([]byte(`{"reason":"too_expensive","comment":"'; drop table x; --"}`), "application/json; charset=utf-8")
	f.Add([]byte(`{"returnPath":"//evil.example"}`), "application/json")
	f.Add([]byte(`{"apply":true,"customer":"cus_1"}`), "")
	f.Add([]byte(`[[[[[[[[[[]]]]]]]]]]`), "text/plain")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		targets := []any{&checkout.Params{}, &cancelsub.Params{}, &portal.Params{}, &resumesub.Params{}, &reconcile.RunParams{}}
		for _, dst := range targets {
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			if contentType != "" {
				r.Header.Set("Content-Type", contentType)
			}
			w := httptest.NewRecorder()
			err := httpkit.DecodeJSON(w, r, httpkit.AppBodyLimit, dst)
			if err != nil {
				switch httpkit.AsError(err).Status {
				case 400, 413, 415:
				default:
					t.Fatalf("%T: %v", dst, err)
				}
			}
		}
		var paths map[string]any
		if json.Unmarshal(body, &paths) != nil {
			return
		}
		for _, field := range []string{"successPath", "cancelPath", "returnPath"} {
			p, _ := paths[field].(string)
			safe, err := httpkit.SafePath(field, p, "/")
			if err != nil {
				continue
			}
			u, err := url.Parse(httpkit.JoinURL("https://app.example", safe))
			if err != nil || u.Scheme != "https" || u.Host != "app.example" || u.User != nil {
				t.Fatalf("%s %q leaves the site: %v (%v)", field, p, u, err)
			}
		}
	})
}

// FuzzLambdaEvent feeds the Lambda adapter any event: it answers or
// returns an error, never panics, and a request it builds reaches the
// handler with the decoded body.
func FuzzLambdaEvent(f *testing.F) {
	f.Add([]byte(`{"version":"2.0","rawPath":"/functions/v1/check-subscription","headers":{"authorization":"Bearer x"},"requestContext":{"http":{"method":"GET"},"requestId":"id"},"isBase64Encoded":false}`))
	f.Add([]byte(`{"rawPath":"/","body":"e30=","isBase64Encoded":true,"cookies":["a=1"],"rawQueryString":"a=b&a=c"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		h := httpkit.LambdaHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{}`))
		}))
		res, err := h(context.Background(), raw)
		if err == nil && res.StatusCode != 200 && res.StatusCode != 400 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
}
