// Package fuzz holds the Go fuzz targets of the paths that read untrusted
// bytes: the webhook's bytes-to-decision path (signature header, envelope
// and object of any API version), the JWT verifier (header, claims,
// sizes), the plan catalog loader, every JSON request body of the
// functions, and the Lambda adapter's event decoding. Each target's seed
// corpus is under testdata/fuzz/<target>/ and runs with every `go test`;
// `make test` fuzzes each briefly and `make fuzz` longer. An input a run
// finds becomes a file of the corpus, so a regression test.
package fuzz
