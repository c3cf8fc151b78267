// Package wasihttp runs a Go http.Handler as a WASI 0.2 HTTP component
// (world wasi:http/proxy@0.2.12) and makes outbound requests through
// wasi:http/outgoing-handler, on stock Go (GOOS=wasip1, -buildmode=c-shared).
//
// It declares the component's canonical-ABI lowered imports with
// //go:wasmimport and exports wasi:http/incoming-handler@0.2.12#handle with
// //go:wasmexport; the preview1 adapter that `jco new --wasi-reactor` adds
// turns the core module into a component. Everything but this comment is
// built only for wasip1, so native builds do not contain it.
//
// The host calls the guest one request at a time and a blocking import
// blocks the whole guest: each request runs to its end, response written,
// before the export returns, and no goroutine outlives it.
package wasihttp
