// Package contract holds the HTTP contract tests every way of serving the
// functions must pass: the native server (`billing serve`) and the WASI
// components under `jco serve` (`billing serve-wasm`). They call the
// functions only over HTTP at /functions/v1/<name>, as the app and Stripe do.
package contract
