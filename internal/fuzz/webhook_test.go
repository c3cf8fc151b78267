package fuzz

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/shared/stripesync"

	stripewebhook "github.com/stripe/stripe-go/v76/webhook"
)

const webhookSecret = "whsec_fuzzWebhookSecret"

// FuzzWebhookDecision feeds the webhook's bytes-to-decision path: the
// signature check over the raw bytes with a fuzzed header, then, for a
// correctly signed body, the envelope and the object of whatever shape.
// Nothing may panic; a header is accepted only when it carries the body's
// genuine signature; a parsed event names an ID and a type.
func FuzzWebhookDecision(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","object":"event","type":"customer.subscription.created","livemode":false,"created":1700000000,"data":{"object":{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active"}}}`), "t=1,v1=00")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		v := webhook.Verifier{Secrets: []string{webhookSecret}}
		now := time.Now()
		genuine := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{
			Payload: body, Secret: webhookSecret, Timestamp: now})
		if err := v.Verify(body, header); err == nil && !containsValidSignature(body, header) {
			t.Fatalf("header %q accepted without the body's signature", header)
		}
		if err := v.Verify(body, genuine.Header); err != nil {
			t.Fatalf("the genuine signature was refused: %v", err)
		}
		ev, err := stripesync.ParseEvent(body)
		if err != nil {
			return
		}
		if ev.ID == "" || ev.Type == "" {
			t.Fatalf("event parsed without an ID or a type: %+v", ev)
		}
		// The object of every type the webhook reads.
		_, _ = stripesync.ParseSubscription(ev.Object)
		_, _ = stripesync.ParseInvoice(ev.Object)
		_, _ = stripesync.ParseCheckoutSession(ev.Object)
	})
}

// containsValidSignature reports whether, for one of header's t values,
// one of its v1 values is the signature of body.
func containsValidSignature(body []byte, header string) bool {
	var times, sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			times = append(times, v)
		case "v1":
			sigs = append(sigs, v)
		}
	}
	for _, ts := range times {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			continue
		}
		want := hexString(stripewebhook.ComputeSignature(time.Unix(n, 0), body, webhookSecret))
		for _, s := range sigs {
			if s == want {
				return true
			}
		}
	}
	return false
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

// FuzzWebhookSignature holds the webhook's own reading of the
// Stripe-Signature header to stripe-go's: for any header (seeded with a
// genuine one, so that mutations stay near valid), Verify accepts exactly
// when stripe-go's ValidatePayloadWithTolerance does with that secret.
func FuzzWebhookSignature(f *testing.F) {
	body := []byte(`{"id":"evt_1","object":"event","type":"invoice.paid"}`)
	now := time.Now()
	genuine := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{
		Payload: body, Secret: webhookSecret, Timestamp: now})
	f.Add(genuine.Header)
	f.Add("t=" + strconv.FormatInt(now.Unix(), 10) + ",v1=00,v1=" + genuine.Header[strings.LastIndex(genuine.Header, "=")+1:])
	f.Add("t=1,v0=ab,x=y")
	f.Fuzz(func(t *testing.T, header string) {
		err := webhook.Verifier{Secrets: []string{webhookSecret}}.Verify(body, header)
		want := header != "" && stripewebhook.ValidatePayloadWithTolerance(body, header, webhookSecret, webhook.Tolerance) == nil
		if (err == nil) != want {
			t.Fatalf("header %q: Verify error %v, stripe-go accepts %v", header, err, want)
		}
	})
}
