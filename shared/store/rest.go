package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"billing/shared/outbound"
)

// REST calls the SQL functions through the Supabase REST API (PostgREST)
// at <SUPABASE_URL>/rest/v1/rpc/<fn> with the service-role key.
//
// It speaks HTTP itself rather than through supabase-go v0.0.4, whose Rpc
// takes no context, hides the HTTP status (an error body comes back as if
// it were the result) and keeps the last error in a field shared by every
// goroutine: none of which is safe for billing writes.
type REST struct {
	base   string
	key    string
	client *http.Client
}

// NewREST returns a REST caller. client may be nil.
func NewREST(supabaseURL, serviceKey string, client *http.Client) *REST {
	if client == nil {
		client = outbound.Client(15 * time.Second)
	}
	// Never follow a redirect: net/http would resend the apikey header
	// (the service-role key) and the body to whatever host it names.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client = &c
	return &REST{base: strings.TrimRight(supabaseURL, "/") + "/rest/v1/rpc/", key: serviceKey, client: client}
}

// Close releases nothing; it is there to satisfy Caller.
func (c *REST) Close() {}

// restError is PostgREST's error body.
type restError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details string `json:"details"`
	Hint    string `json:"hint"`
}

// Call posts the named arguments as a JSON object and decodes the result.
func (c *REST) Call(ctx context.Context, fn string, args []Arg, out any) error {
	if err := checkCall(fn, args); err != nil {
		return err
	}
	obj := make(map[string]any, len(args))
	for _, a := range args {
		obj[a.Name] = restValue(a.Value)
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("store: %s: encode arguments: %w", fn, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+fn, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("apikey", c.key)
	// Legacy service_role keys are JWTs and go in Authorization too; the
	// newer sb_secret_ keys are not JWTs and must only be sent as apikey.
	if strings.Count(c.key, ".") == 2 {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Profile", "public")
	res, err := c.client.Do(req)
	if err != nil {
		return restFailure(ctx, fn, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxRESTResult+1))
	if err != nil {
		return restFailure(ctx, fn, fmt.Errorf("read: %w", err))
	}
	if len(raw) > maxRESTResult {
		return fmt.Errorf("store: %s: the result is larger than %d MiB", fn, maxRESTResult>>20)
	}
	if res.StatusCode/100 != 2 {
		var re restError
		_ = json.Unmarshal(raw, &re)
		e := &Error{Code: re.Code, Message: re.Message, Detail: re.Details, Hint: re.Hint}
		if e.Message == "" {
			e.Message = fmt.Sprintf("HTTP %d", res.StatusCode)
		}
		if restRetryable(res.StatusCode, e.Code) {
			return fmt.Errorf("store: %s: %w: %w", fn, ErrUnavailable, e)
		}
		return fmt.Errorf("store: %s: %w", fn, e)
	}
	return decode(fn, raw, out)
}

// maxRESTResult bounds a REST answer: far above any result of ours (a page
// of billing_events_select holds 100 events of up to 1 MiB each, escaped),
// and an error, never a silent cut, past it.
const maxRESTResult = 512 << 20

// restRetryable decides as pgx does: a database error (PostgREST's body
// carries its SQLSTATE) by Retryable, whatever HTTP status PostgREST gave
// it; PostgREST's own errors (PGRST...) and a body without a code (a
// gateway's 502, 503 or 504) by the status: 5xx and 429 are worth a retry.
func restRetryable(status int, code string) bool {
	if len(code) == 5 && !strings.HasPrefix(code, "PGRST") {
		return Retryable(code)
	}
	return status >= 500 || status == http.StatusTooManyRequests
}

// restFailure is a call that got no answer: as on the pgx path, a deadline
// (the caller's or the client's timeout) and a network error may be
// retried, a cancelled context is passed on as it is.
func restFailure(ctx context.Context, fn string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return fmt.Errorf("store: %s: %w: %v", fn, ErrUnavailable, err)
}

// restValue turns argument values into what PostgREST expects in JSON:
// raw JSON documents (json.RawMessage or []byte) are embedded as JSON.
func restValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return json.RawMessage(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}
