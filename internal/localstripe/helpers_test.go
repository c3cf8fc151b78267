package localstripe_test

import (
	"errors"
	"io"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

func asStripe(err error, se **stripe.Error) bool { return errors.As(err, se) }

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
