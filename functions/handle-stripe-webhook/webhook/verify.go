package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
// It decides exactly as stripe-go's webhook.ValidatePayloadWithTolerance
// does for each secret (the differential tests and FuzzWebhookSignature
// hold it to that), and reports stripe-go's errors as the cause, but reads
// the header once for every secret and without allocating, and keeps the
// HMAC state between calls: on the peers' 4 KB event stripe-go's check
// made 16 allocations, a third of the webhook's CPU path. stripe-go's typed
// Event is never used: stripe-go v76 would reject events of another API
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
	if len(v.Secrets) == 0 {
		return invalidSignature("No signature matches the endpoint's secret.", errors.New("no webhook secret configured"))
	}
	var h signatureHeader
	switch err := h.parse(header); {
	case errors.Is(err, stripewebhook.ErrNoValidSignature):
		return invalidSignature("No signature matches the endpoint's secret.", err)
	case err != nil:
		return invalidSignature("The Stripe-Signature header cannot be read.", err)
	}
	// stripe-go checks the tolerance after the header, for every secret
	// alike: a timestamp too old (or no "t" at all) fails whatever the
	// signatures.
	if time.Since(h.timestamp()) > tol {
		return invalidSignature("The signature's timestamp is outside the tolerance of 300 seconds.", stripewebhook.ErrTooOld)
	}
	for _, secret := range v.Secrets {
		if h.signedWith(secret, payload) {
			return nil
		}
	}
	return invalidSignature("No signature matches the endpoint's secret.", stripewebhook.ErrNoValidSignature)
}

// maxSignatures is how many v1 signatures of a header are kept without
// allocating (Stripe sends one, two while a secret rolls).
const maxSignatures = 4

// signatureHeader is what Verify reads of a Stripe-Signature header
// ("t=1495999758,v1=ABC,v1=DEF,v0=GHI"), by stripe-go's rules: every
// comma-separated part must be one key=value; the last "t" counts and must
// be an integer; a v1 value that is not hex is ignored; other keys are
// ignored; at least one hex v1 value must be present.
type signatureHeader struct {
	t    int64
	hasT bool
	// n counts the hex v1 values; sigs holds those of a SHA-256's length
	// (a value of another length is counted but can match nothing).
	n     int
	nsigs int
	sigs  [maxSignatures][sha256.Size]byte
	more  [][sha256.Size]byte
}

func (h *signatureHeader) parse(header string) error {
	for rest, more := header, true; more; {
		var pair string
		pair, rest, more = strings.Cut(rest, ",")
		key, value, ok := strings.Cut(pair, "=")
		if !ok || strings.IndexByte(value, '=') >= 0 {
			return stripewebhook.ErrInvalidHeader
		}
		switch key {
		case "t":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return stripewebhook.ErrInvalidHeader
			}
			h.t, h.hasT = n, true
		case "v1":
			if len(value)%2 != 0 || !isHex(value) {
				continue
			}
			h.n++
			if len(value) != 2*sha256.Size {
				continue
			}
			var sig [sha256.Size]byte
			for i := range sig {
				sig[i] = unhex(value[2*i])<<4 | unhex(value[2*i+1])
			}
			if h.nsigs < maxSignatures {
				h.sigs[h.nsigs] = sig
				h.nsigs++
			} else {
				h.more = append(h.more, sig)
			}
		}
	}
	if h.n == 0 {
		return stripewebhook.ErrNoValidSignature
	}
	return nil
}

// timestamp is the header's "t", or the zero time without one (which
// stripe-go then finds too old).
func (h *signatureHeader) timestamp() time.Time {
	if !h.hasT {
		return time.Time{}
	}
	return time.Unix(h.t, 0)
}

// signedWith reports whether one of the header's v1 signatures is the
// HMAC-SHA256 of "t.payload" with secret (compared in constant time).
func (h *signatureHeader) signedWith(secret string, payload []byte) bool {
	if h.nsigs == 0 {
		return false
	}
	m := getMAC(secret)
	defer macs.Put(m)
	m.h.Reset()
	m.buf = strconv.AppendInt(m.buf[:0], h.timestamp().Unix(), 10)
	m.buf = append(m.buf, '.')
	m.h.Write(m.buf)
	m.h.Write(payload)
	m.sum = m.h.Sum(m.sum[:0])
	ok := false
	for i := range h.nsigs {
		ok = hmac.Equal(m.sum, h.sigs[i][:]) || ok
	}
	for i := range h.more {
		ok = hmac.Equal(m.sum, h.more[i][:]) || ok
	}
	return ok
}

// mac is a keyed HMAC-SHA256 kept between calls (sync.Pool), with its
// scratch buffers.
type mac struct {
	secret string
	h      hash.Hash
	buf    []byte
	sum    []byte
}

var macs sync.Pool

// getMAC returns a pooled HMAC keyed with secret, made anew when the pooled
// one has another key.
func getMAC(secret string) *mac {
	if m, _ := macs.Get().(*mac); m != nil && m.secret == secret {
		return m
	}
	return &mac{secret: secret, h: hmac.New(sha256.New, []byte(secret)),
		buf: make([]byte, 0, 24), sum: make([]byte, 0, sha256.Size)}
}

// unhex is the value of a hex digit (isHex has checked it is one).
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func isHex(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func invalidSignature(msg string, cause error) *httpkit.Error {
	return &httpkit.Error{Status: http.StatusBadRequest, Code: httpkit.CodeInvalidSignature, Message: msg, Cause: cause}
}
