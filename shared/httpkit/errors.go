// Package httpkit is the small HTTP function kit every billing function is
// built on: the error type and its JSON body, request decoding under a body
// limit, CORS as Supabase Edge Functions answer it, panic recovery, request
// IDs, structured logs, and Run, which serves a handler on AWS Lambda or on a
// local port.
package httpkit

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is the one error type handlers return. Status and Code are part of
// the public contract; Message is shown to the caller; Cause is logged and
// never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Cause   error
	// allow is the Allow header of a 405 made by Methods.
	allow []string
	// RetryAfter, when positive, is sent as the Retry-After header
	// (seconds), as with 429 rate_limited.
	RetryAfter int
}

// Error implements error. It includes the cause for logs.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

// WithCause returns a copy of e that carries cause for the logs.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// NewError builds an Error.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Errorf builds an Error whose message is formatted.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Stable error codes of the HTTP contract (DESIGN.md).
const (
	CodeInvalidRequest    = "invalid_request"
	CodeMissingToken      = "missing_token"
	CodeInvalidToken      = "invalid_token"
	CodeTokenExpired      = "token_expired"
	CodeNotAUserToken     = "not_a_user_token"
	CodeForbidden         = "forbidden"
	CodeNotFound          = "not_found"
	CodeNoSubscription    = "no_subscription"
	CodeNoCustomer        = "no_customer"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeAlreadySubscribed = "already_subscribed"
	CodeNotResumable      = "not_resumable"
	CodePayloadTooLarge   = "payload_too_large"
	CodeUnsupportedMedia  = "unsupported_media_type"
	CodeRateLimited       = "rate_limited"
	CodeInternal          = "internal_error"
	CodeStripeError       = "stripe_error"
	CodeUnavailable       = "unavailable"
	CodeInvalidSignature  = "invalid_signature"
	CodeUnknownPrice      = "unknown_price"
	CodeConflict          = "conflict"
)

// RateLimited is the 429 rate_limited answer: the caller may try again in
// retryAfter seconds (at least 1), which the Retry-After header also says.
func RateLimited(retryAfter int) *Error {
	if retryAfter < 1 {
		retryAfter = 1
	}
	return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited, RetryAfter: retryAfter,
		Message: fmt.Sprintf("Too many requests for this account; try again in %d seconds.", retryAfter)}
}

// BadRequest is a 400 invalid_request with a message saying what to fix.
func BadRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeInvalidRequest, format, args...)
}

// Internal is a 500 whose cause is logged and whose message says nothing
// about the internals.
func Internal(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal,
		Message: "An internal error occurred. Please try again.", Cause: cause}
}

// Unavailable is a 503 for a dependency (usually the database) that did not
// answer; the caller may retry.
func Unavailable(cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: "The service is temporarily unavailable. Please try again.", Cause: cause}
}

// AsError turns any error into an *Error: an *Error anywhere in the chain is
// returned as is, everything else becomes a 500.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e.Cause == nil && err != error(e) {
			return e.WithCause(err)
		}
		return e
	}
	return Internal(err)
}
