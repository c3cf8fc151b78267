package httpkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Body limits of the contract.
const (
	// AppBodyLimit is the largest body the React app may send.
	AppBodyLimit = 64 << 10
	// WebhookBodyLimit is the largest webhook body accepted.
	WebhookBodyLimit = 1 << 20
)

// ReadBody reads the whole body, at most limit bytes; a larger body is a
// 413 payload_too_large.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, BadRequest("The request body could not be read.").WithCause(err)
	}
	return b, nil
}

func tooLarge(limit int64) *Error {
	return Errorf(http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
		"The request body is larger than %d bytes.", limit)
}

// DecodeJSON decodes the JSON body of r into dst under limit. An empty
// body decodes as {}. A body that is not JSON by its Content-Type is 415;
// malformed JSON or a wrong type for a known field is 400. Unknown fields
// (such as the userId and email older clients send) are ignored: the user
// always comes from the verified token.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	b, err := ReadBody(w, r, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return Errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
				"Send the body as application/json (got %q).", truncate(ct, 64))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return BadRequest("Field %q must be a %s.", te.Field, jsonKind(te.Type.Kind().String()))
		}
		if errors.As(err, &te) {
			// The body is JSON, but not an object (an array, a string...).
			return BadRequest("The request body must be a JSON object, not a JSON %s.", te.Value).WithCause(err)
		}
		return BadRequest("The request body is not valid JSON.").WithCause(err)
	}
	if dec.More() {
		return BadRequest("The request body must hold one JSON object.")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	default:
		return "number"
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// SafePath checks that p is a path on our own site: it must start with a
// single "/", hold no scheme, host, backslash, space or control character,
// and every "%" must begin a valid escape. An empty
// p gives def. It is how return URLs avoid open redirects.
func SafePath(field, p, def string) (string, error) {
	if p == "" {
		return def, nil
	}
	bad := !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.ContainsAny(p, "\\") || strings.Contains(p, "://") || len(p) > 2048
	for i, c := range p {
		switch {
		case c <= 0x20 || c == 0x7f:
			bad = true
		case c == '%':
			// A "%" starts an escape of two hex digits (RFC 3986 2.1);
			// anything else is not a URL Stripe or a browser can follow.
			bad = bad || i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2])
		}
	}
	if !bad {
		u, err := url.Parse(p)
		bad = err != nil || u.Scheme != "" || u.Host != "" || u.User != nil
	}
	if bad {
		return "", BadRequest("%s must be a path on this site starting with a single \"/\" (got %q).", field, truncate(p, 100))
	}
	return p, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// JoinURL joins a site base URL (no trailing slash needed) and a safe path.
func JoinURL(base, path string) string {
	return strings.TrimRight(base, "/") + path
}
