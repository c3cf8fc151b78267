//go:build wasip1

package outbound

import (
	"net/http"

	"billing/shared/wasihttp"
)

// transport sends every request through the host's wasi:http.
var transport http.RoundTripper = &wasihttp.Transport{}
