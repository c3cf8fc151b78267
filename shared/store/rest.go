package store

import (
	"bytes"
	"context"
	"encoding/json"
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
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("store: %s: %w: %v", fn, ErrUnavailable, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("store: %s: %w: read: %v", fn, ErrUnavailable, err)
	}
	if res.StatusCode/100 != 2 {
		var re restError
		_ = json.Unmarshal(raw, &re)
		e := &Error{Code: re.Code, Message: re.Message, Detail: re.Details, Hint: re.Hint}
		if e.Message == "" {
			e.Message = fmt.Sprintf("HTTP %d", res.StatusCode)
		}
		if res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests {
			if !strings.HasPrefix(e.Code, "P0") && !strings.HasPrefix(e.Code, "23") && !strings.HasPrefix(e.Code, "22") {
				return fmt.Errorf("store: %s: %w: %w", fn, ErrUnavailable, e)
			}
		}
		return fmt.Errorf("store: %s: %w", fn, e)
	}
	return decode(fn, raw, out)
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
