//go:build wasip1

package wasihttp

import (
	"fmt"
	"strings"
)

// Error is a wasi:http error-code the host reported for an outbound
// request: Code is the WIT case name (e.g. "connection-refused",
// "DNS-error") and Detail its payload, if any, in words.
type Error struct {
	Code   string
	Detail string
}

func (e *Error) Error() string {
	msg := "wasi:http: " + e.Code
	if text, ok := errorText[e.Code]; ok {
		msg += " (" + text + ")"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Timeout reports whether the error is a timeout, as net.Error does, so
// clients that retry on timeouts treat it as one.
func (e *Error) Timeout() bool {
	switch e.Code {
	case "DNS-timeout", "connection-timeout", "connection-read-timeout",
		"connection-write-timeout", "HTTP-response-timeout":
		return true
	}
	return false
}

// Temporary reports whether retrying may help: timeouts and failures to
// reach or stay connected to the destination.
func (e *Error) Temporary() bool {
	switch e.Code {
	case "destination-unavailable", "connection-refused", "connection-terminated",
		"connection-limit-reached", "HTTP-response-incomplete":
		return true
	}
	return e.Timeout()
}

// errorCodes are the cases of wasi:http/types.error-code, in WIT order
// (the index is the discriminant).
var errorCodes = [...]string{
	"DNS-timeout", "DNS-error", "destination-not-found", "destination-unavailable",
	"destination-IP-prohibited", "destination-IP-unroutable", "connection-refused",
	"connection-terminated", "connection-timeout", "connection-read-timeout",
	"connection-write-timeout", "connection-limit-reached", "TLS-protocol-error",
	"TLS-certificate-error", "TLS-alert-received", "HTTP-request-denied",
	"HTTP-request-length-required", "HTTP-request-body-size", "HTTP-request-method-invalid",
	"HTTP-request-URI-invalid", "HTTP-request-URI-too-long", "HTTP-request-header-section-size",
	"HTTP-request-header-size", "HTTP-request-trailer-section-size", "HTTP-request-trailer-size",
	"HTTP-response-incomplete", "HTTP-response-header-section-size", "HTTP-response-header-size",
	"HTTP-response-body-size", "HTTP-response-trailer-section-size", "HTTP-response-trailer-size",
	"HTTP-response-transfer-coding", "HTTP-response-content-coding", "HTTP-response-timeout",
	"HTTP-upgrade-failed", "HTTP-protocol-error", "loop-detected", "configuration-error",
	"internal-error",
}

// errorText says in words what each case means.
var errorText = map[string]string{
	"DNS-timeout":                        "DNS lookup timed out",
	"DNS-error":                          "DNS lookup failed",
	"destination-not-found":              "no such host",
	"destination-unavailable":            "host unavailable",
	"destination-IP-prohibited":          "the host does not allow this destination IP",
	"destination-IP-unroutable":          "destination IP unroutable",
	"connection-refused":                 "connection refused",
	"connection-terminated":              "connection closed",
	"connection-timeout":                 "connect timed out",
	"connection-read-timeout":            "read timed out",
	"connection-write-timeout":           "write timed out",
	"connection-limit-reached":           "too many connections",
	"TLS-protocol-error":                 "TLS protocol error",
	"TLS-certificate-error":              "TLS certificate not accepted",
	"TLS-alert-received":                 "TLS alert received",
	"HTTP-request-denied":                "the host denied the request (outbound host not allowed?)",
	"HTTP-request-length-required":       "request needs a Content-Length",
	"HTTP-request-body-size":             "request body size wrong",
	"HTTP-request-method-invalid":        "invalid request method",
	"HTTP-request-URI-invalid":           "invalid request URI",
	"HTTP-request-URI-too-long":          "request URI too long",
	"HTTP-request-header-section-size":   "request headers too large",
	"HTTP-request-header-size":           "a request header is too large",
	"HTTP-request-trailer-section-size":  "request trailers too large",
	"HTTP-request-trailer-size":          "a request trailer is too large",
	"HTTP-response-incomplete":           "response incomplete",
	"HTTP-response-header-section-size":  "response headers too large",
	"HTTP-response-header-size":          "a response header is too large",
	"HTTP-response-body-size":            "response body size wrong",
	"HTTP-response-trailer-section-size": "response trailers too large",
	"HTTP-response-trailer-size":         "a response trailer is too large",
	"HTTP-response-transfer-coding":      "unsupported transfer coding",
	"HTTP-response-content-coding":       "unsupported content coding",
	"HTTP-response-timeout":              "response timed out",
	"HTTP-upgrade-failed":                "upgrade failed",
	"HTTP-protocol-error":                "HTTP protocol error",
	"loop-detected":                      "request loop detected",
	"configuration-error":                "host configuration error",
	"internal-error":                     "host internal error",
}

// liftErrorCode reads the error-code (32 bytes, 8-aligned: the
// discriminant at 0, the payload at 8) at off in b.
func liftErrorCode(b []byte, off int) *Error {
	d := int(u8(b, off))
	if d >= len(errorCodes) {
		return &Error{Code: "internal-error", Detail: fmt.Sprintf("unknown error-code %d", d)}
	}
	e := &Error{Code: errorCodes[d]}
	p := off + 8
	var parts []string
	optU32 := func(name string, o int) {
		if u8(b, o) != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", name, u32(b, o+4)))
		}
	}
	optString := func(name string, o int) {
		if s, ok := liftOptString(b, o); ok {
			parts = append(parts, name+" "+s)
		}
	}
	fieldSize := func(o int) { // field-size-payload: option<string>, option<u32>
		optString("field", o)
		optU32("size", o+12)
	}
	switch e.Code {
	case "DNS-error": // option<string> rcode, option<u16> info-code
		optString("rcode", p)
		if u8(b, p+12) != 0 {
			parts = append(parts, fmt.Sprintf("info-code %d", u16(b, p+14)))
		}
	case "TLS-alert-received": // option<u8> alert-id, option<string> alert-message
		if u8(b, p) != 0 {
			parts = append(parts, fmt.Sprintf("alert %d", u8(b, p+1)))
		}
		optString("message", p+4)
	case "HTTP-request-body-size", "HTTP-response-body-size": // option<u64>
		if u8(b, p) != 0 {
			parts = append(parts, fmt.Sprintf("size %d", u64(b, p+8)))
		}
	case "HTTP-request-header-section-size", "HTTP-request-trailer-section-size",
		"HTTP-response-header-section-size", "HTTP-response-trailer-section-size":
		optU32("size", p)
	case "HTTP-request-header-size": // option<field-size-payload>
		if u8(b, p) != 0 {
			fieldSize(p + 4)
		}
	case "HTTP-request-trailer-size", "HTTP-response-header-size", "HTTP-response-trailer-size":
		fieldSize(p)
	case "HTTP-response-transfer-coding", "HTTP-response-content-coding", "internal-error":
		optString("", p)
	}
	e.Detail = strings.TrimSpace(strings.Join(parts, ", "))
	return e
}
