package webhook_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v76/webhook"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/shared/httpkit"
)

// stripeVerdict is what stripe-go's ValidatePayloadWithTolerance decides
// over the secrets in turn, as the webhook did before it read the header
// itself: "ok", "too_old", "unreadable" or "no_match".
func stripeVerdict(body []byte, header string, secrets []string) string {
	if header == "" {
		return "unreadable"
	}
	verdict := "no_match"
	for _, s := range secrets {
		err := stripewebhook.ValidatePayloadWithTolerance(body, header, s, webhook.Tolerance)
		switch {
		case err == nil:
			return "ok"
		case errors.Is(err, stripewebhook.ErrTooOld):
			return "too_old"
		case errors.Is(err, stripewebhook.ErrInvalidHeader), errors.Is(err, stripewebhook.ErrNotSigned):
			return "unreadable"
		}
	}
	return verdict
}

// ourVerdict is Verify's decision in the same terms.
func ourVerdict(t testing.TB, body []byte, header string, secrets []string) string {
	err := webhook.Verifier{Secrets: secrets}.Verify(body, header)
	if err == nil {
		return "ok"
	}
	var he *httpkit.Error
	if !errors.As(err, &he) || he.Status != 400 || he.Code != httpkit.CodeInvalidSignature {
		t.Fatalf("Verify error %v is not a 400 invalid_signature", err)
	}
	switch {
	case strings.Contains(he.Message, "tolerance"):
		return "too_old"
	case strings.Contains(he.Message, "cannot be read"), strings.Contains(he.Message, "missing"):
		return "unreadable"
	}
	return "no_match"
}

// TestVerifyDecidesAsStripeGo: every header shape (one or two v1
// signatures, a rolled secret, v0 only, hex that is invalid, of odd or of
// another length, uppercase hex, a missing, repeated or malformed t, empty
// parts, extra '=', an old or a future timestamp) is accepted or refused
// exactly as stripe-go's webhook package decides, for one and two secrets.
func TestVerifyDecidesAsStripeGo(t *testing.T) {
	body := []byte(`{"id":"evt_1","object":"event"}`)
	const s1, s2 = "whsec_one", "whsec_two"
	now := time.Now()
	sig := func(at time.Time, secret string) string {
		return fmt.Sprintf("%x", stripewebhook.ComputeSignature(at, body, secret))
	}
	ts := func(at time.Time) string { return fmt.Sprint(at.Unix()) }
	good, other := sig(now, s1), sig(now, s2)
	old := now.Add(-10 * time.Minute)
	headers := []string{
		"t=" + ts(now) + ",v1=" + good,
		"t=" + ts(now) + ",v1=" + strings.ToUpper(good),
		"t=" + ts(now) + ",v1=" + other,
		"t=" + ts(now) + ",v1=" + other + ",v1=" + good,
		"t=" + ts(now) + ",v1=" + strings.Repeat("0", 64),
		"t=" + ts(now) + ",v0=" + good,
		"t=" + ts(now),
		"t=" + ts(now) + ",v1=zz" + good[2:],
		"t=" + ts(now) + ",v1=" + good[1:],
		"t=" + ts(now) + ",v1=" + good[:62],
		"t=" + ts(now) + ",v1=" + good + "00",
		"t=" + ts(now) + ",v1=zz,v1=" + good,
		"v1=" + good,
		"t=" + ts(old) + ",v1=" + good,
		"t=" + ts(old) + ",v1=" + sig(old, s1),
		"t=" + ts(now.Add(time.Hour)) + ",v1=" + sig(now.Add(time.Hour), s1),
		"t=" + ts(old) + ",t=" + ts(now) + ",v1=" + good,
		"t=" + ts(now) + ",t=" + ts(old) + ",v1=" + good,
		"t=abc,v1=" + good,
		"t=+" + ts(now) + ",v1=" + good,
		"t=" + ts(now) + ",,v1=" + good,
		"t=" + ts(now) + ",v1=" + good + "=",
		"t=" + ts(now) + ",v1",
		"t=" + ts(now) + ", v1=" + good,
		"t=" + ts(now) + ",v1=" + good + ",x=1",
		"t=" + ts(now) + ",v1=" + strings.Repeat("ab", 40) + ",v1=a,v1=bb,v1=cc,v1=dd,v1=ee,v1=" + good,
		"t=" + ts(now) + ",v1=" + strings.Repeat(other+",v1=", 5) + good,
		",",
		"=",
		"garbage",
		"",
	}
	for _, secrets := range [][]string{{s1}, {s2, s1}, {s2}} {
		for _, h := range headers {
			t.Run(fmt.Sprintf("%d secrets %q", len(secrets), h), func(t *testing.T) {
				want := stripeVerdict(body, h, secrets)
				if got := ourVerdict(t, body, h, secrets); got != want {
					t.Fatalf("Verify says %s, stripe-go %s", got, want)
				}
			})
		}
	}
	// The verdicts above are not all alike: the test can fail.
	if stripeVerdict(body, headers[0], []string{s1}) != "ok" || stripeVerdict(body, headers[2], []string{s1}) != "no_match" {
		t.Fatal("the reference verdicts are not what they should be")
	}
}

// TestVerifyAllocations: a signed event is verified without allocating
// once the HMAC state is pooled (stripe-go's check made 16 allocations).
func TestVerifyAllocations(t *testing.T) {
	body, _ := peerFixture(t)
	v := webhook.Verifier{Secrets: []string{peerSecret}}
	header := sign(body, peerSecret, time.Now())
	if err := v.Verify(body, header); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = v.Verify(body, header) }); n > 0 {
		t.Errorf("Verify allocates %.0f times per call, want 0", n)
	}
}
