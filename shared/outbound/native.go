//go:build !wasip1

package outbound

import "net/http"

// transport is nil: http.DefaultTransport.
var transport http.RoundTripper
