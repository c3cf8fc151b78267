package httpkit

import "regexp"

// anAddress matches anything that looks like an email address.
var anAddress = regexp.MustCompile(`[^\s"'<>(),;:@\[\]]+@[^\s"'<>(),;:@\[\]]+`)

// RedactEmails replaces everything in s that looks like an email address
// with "[address]". Texts from third parties (Stripe's and SendGrid's error
// messages echo the address they rejected) pass through it before they are
// logged or stored.
func RedactEmails(s string) string {
	return anAddress.ReplaceAllString(s, "[address]")
}
