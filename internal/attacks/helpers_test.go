package attacks

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
)

// webhookSecret signs the webhooks of these tests.
const webhookSecret = "whsec_attackListWebhookSecret0123456789"

// secrets are the values no log line or answer may contain.
var secrets = []string{fntest.Secret, fntest.ServiceKey, stripetest.Key, webhookSecret, "sk_live_attackListLiveKey"}

// seen collects every answer body of the package's tests, for the scan of
// TestNoSecretInLogsOrAnswers.
var seen struct {
	mu     sync.Mutex
	bodies []string
	tokens []string
	envs   []*fntest.Env
}

// track remembers e for the final log scan and returns it.
func track(e *fntest.Env) *fntest.Env {
	seen.mu.Lock()
	seen.envs = append(seen.envs, e)
	seen.mu.Unlock()
	return e
}

// request is one raw HTTP call.
type request struct {
	method, url, token, contentType, body string
	header                                map[string]string
}

// do sends r and returns the answer and its body, remembering the body.
func do(t *testing.T, r request) (*http.Response, string) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	req, err := http.NewRequest(r.method, r.url, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.contentType == "" && r.body != "" {
		r.contentType = "application/json"
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	seen.mu.Lock()
	seen.bodies = append(seen.bodies, string(b))
	if len(r.token) >= 20 {
		// Compared by their signature segment (or whole when it has none).
		tok := r.token
		if i := strings.LastIndexByte(tok, '.'); i >= 0 && len(tok)-i > 16 {
			tok = tok[i+1:]
		}
		seen.tokens = append(seen.tokens, tok)
	}
	seen.mu.Unlock()
	return res, string(b)
}

// wantError fails t unless the answer has status and the JSON error code.
func wantError(t *testing.T, res *http.Response, body string, status int, code string) {
	t.Helper()
	if res.StatusCode != status || !strings.Contains(body, `"error":"`+code+`"`) {
		t.Fatalf("answer %d %s, want %d %s", res.StatusCode, body, status, code)
	}
}
