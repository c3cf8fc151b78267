package webhook

import (
	"errors"
	"net/http"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v76/webhook"

	"billing/shared/httpkit"
)

// Tolerance is how old a signature's timestamp may be (Stripe's default).
const Tolerance = 300 * time.Second

// Verifier checks the Stripe-Signature header over the raw body with each
// configured endpoint secret in turn, so that during a secret rotation both
// the old and the new secret are accepted.
type Verifier struct {
	Secrets   []string
	Tolerance time.Duration
}

// Verify returns nil when header signs payload with one of the secrets
// within the tolerance, else a 400 invalid_signature.
//
// It uses stripe-go's webhook package for the signature only and never
// its typed Event: stripe-go v76 would reject events of another API
// version (and its types miss the 2025+ shapes), and older events carry
// fields its types cannot read. The envelope is read by
// stripesync.ParseEvent, so any API version is accepted.
func (v Verifier) Verify(payload []byte, header string) error {
	if header == "" {
		return invalidSignature("The Stripe-Signature header is missing.", stripewebhook.ErrNotSigned)
	}
	tol := v.Tolerance
	if tol == 0 {
		tol = Tolerance
	}
	var last error
	for _, secret := range v.Secrets {
		err := stripewebhook.ValidatePayloadWithTolerance(payload, header, secret, tol)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, stripewebhook.ErrTooOld):
			// The timestamp is the same for every secret.
			return invalidSignature("The signature's timestamp is outside the tolerance of 300 seconds.", err)
		case errors.Is(err, stripewebhook.ErrInvalidHeader), errors.Is(err, stripewebhook.ErrNotSigned):
			return invalidSignature("The Stripe-Signature header cannot be read.", err)
		}
		last = err
	}
	if last == nil {
		last = errors.New("no webhook secret configured")
	}
	return invalidSignature("No signature matches the endpoint's secret.", last)
}

func invalidSignature(msg string, cause error) *httpkit.Error {
	return &httpkit.Error{Status: http.StatusBadRequest, Code: httpkit.CodeInvalidSignature, Message: msg, Cause: cause}
}
