// Package stripeclient builds the stripe-go v76 client every Stripe-calling
// function uses, from the configuration: the secret key, the API base
// (stripe-mock in development and tests), network retries with idempotency
// keys, and stripe-go's logs routed into slog. It also turns Stripe errors
// into the contract's HTTP errors.
package stripeclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"billing/shared/httpkit"
	"billing/shared/outbound"
)

// MaxNetworkRetries is how often stripe-go retries a request that failed on
// the network or with a 409/429/5xx; POSTs carry an idempotency key, so a
// retry never applies twice.
const MaxNetworkRetries = 2

// New returns a client for key; apiBase overrides https://api.stripe.com
// (stripe-mock). httpClient may be nil.
func New(key, apiBase string, httpClient *http.Client, log *slog.Logger) *client.API {
	if httpClient == nil {
		httpClient = outbound.Client(30 * time.Second)
	}
	if log == nil {
		log = slog.Default()
	}
	cfg := &stripe.BackendConfig{
		HTTPClient:        httpClient,
		LeveledLogger:     leveled{log: log},
		MaxNetworkRetries: stripe.Int64(MaxNetworkRetries),
	}
	if apiBase != "" {
		cfg.URL = stripe.String(apiBase)
	}
	api := &client.API{}
	api.Init(key, stripe.NewBackendsWithConfig(cfg))
	return api
}

// leveled routes stripe-go's warnings and errors into slog. Its debug and
// info lines are dropped at every level: they include whole API responses,
// and so customers' email addresses, which must never reach the logs.
type leveled struct{ log *slog.Logger }

func (l leveled) Debugf(string, ...any) {}
func (l leveled) Infof(string, ...any)  {}

// Warnf logs stripe-go's warnings with anything like an email address
// redacted: Stripe's error messages echo what it rejected.
func (l leveled) Warnf(format string, v ...any) {
	l.log.Warn(httpkit.RedactEmails(fmt.Sprintf(format, v...)))
}

// Errorf logs stripe-go's errors as warnings, redacted like Warnf; the
// handler that got the error decides whether it is one.
func (l leveled) Errorf(format string, v ...any) {
	l.log.Warn(httpkit.RedactEmails(fmt.Sprintf(format, v...)))
}

// Error maps a stripe-go error to the contract: 502 stripe_error (429 when
// Stripe rate-limits us), where card errors and invalid requests carry a
// message that says what to fix. Stripe's request ID is logged (in the cause),
// never sent in the body. A nil err returns nil.
func Error(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return httpkit.Unavailable(fmt.Errorf("stripe %s: %w", op, err))
		}
		return &httpkit.Error{Status: http.StatusBadGateway, Code: httpkit.CodeStripeError,
			Message: "The payment provider could not be reached. Please try again.",
			Cause:   fmt.Errorf("stripe %s: %w", op, err)}
	}
	httpkit.Logger(ctx).WarnContext(ctx, "stripe error", "op", op, "stripe_request_id", se.RequestID,
		"http_status", se.HTTPStatusCode, "type", string(se.Type), "code", string(se.Code), "param", se.Param)
	// The cause names the failure without Stripe's message, which can echo
	// what we sent (an email address Stripe rejected, for one).
	cause := fmt.Errorf("stripe %s: request %s: HTTP %d, type %s, code %s, param %q",
		op, se.RequestID, se.HTTPStatusCode, se.Type, se.Code, se.Param)
	switch {
	case se.Type == stripe.ErrorTypeCard:
		return &httpkit.Error{Status: http.StatusBadGateway, Code: httpkit.CodeStripeError,
			Message: "The card was declined: " + se.Msg, Cause: cause}
	case se.Type == stripe.ErrorTypeInvalidRequest && se.HTTPStatusCode == http.StatusBadRequest:
		msg := "The payment provider rejected the request"
		if se.Param != "" {
			msg += " (parameter " + se.Param + ")"
		}
		return &httpkit.Error{Status: http.StatusBadGateway, Code: httpkit.CodeStripeError,
			Message: msg + ". Please contact support if this persists.", Cause: cause}
	case se.HTTPStatusCode == http.StatusTooManyRequests:
		return &httpkit.Error{Status: http.StatusTooManyRequests, Code: httpkit.CodeRateLimited,
			Message: "Too many requests to the payment provider. Please retry in a moment.", Cause: cause}
	}
	return &httpkit.Error{Status: http.StatusBadGateway, Code: httpkit.CodeStripeError,
		Message: "The payment provider returned an error. Please try again.", Cause: cause}
}

// ReadTime returns when Stripe read the object it answered with, as a LOWER
// bound in Stripe's own clock, whole seconds: the time a fetched object's
// state is stored under (billing_apply_event applies it only over an older
// stored state). h is the response's headers; sent and received are the
// local clock when the request was sent and when the response arrived.
//
// Stripe's Date header is when the response left (truncated to the
// second), so it is an upper bound of the read: an object read before a
// concurrent change can leave a second later. The read happened after the
// request reached Stripe, at least the round trip before the response left,
// so the bound is floor(Date - (received - sent)). Without a usable Date it
// is floor(sent) - 1s in the local clock (which may differ from Stripe's).
func ReadTime(h http.Header, sent, received time.Time) time.Time {
	rtt := received.Sub(sent)
	if rtt < 0 {
		rtt = 0
	}
	if h != nil {
		if date, err := http.ParseTime(h.Get("Date")); err == nil {
			return date.Add(-rtt).UTC().Truncate(time.Second)
		}
	}
	return sent.UTC().Truncate(time.Second).Add(-time.Second)
}
