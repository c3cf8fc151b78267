// Package outbound gives every client the functions use (stripe-go's
// backend, the REST data path, the JWKS fetch, SendGrid) its http.Client,
// so one place decides how a function reaches the network: net/http's
// default transport in native builds, wasi:http/outgoing-handler (package
// wasihttp) in the WASI build.
package outbound

import (
	"net/http"
	"time"
)

// Client returns a new http.Client with the given overall timeout over
// this build's transport.
func Client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: transport}
}
