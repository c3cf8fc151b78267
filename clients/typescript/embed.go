// Package tsclient holds the TypeScript client of the billing functions
// (src/, compiled to dist/ and committed, so it runs as an ES module with
// no build step) and its test: the TypeScript types in src/types.gen.ts
// must be what the Go response structs marshal to. `billing dev` serves
// dist/ at /client/ for the demo page.
package tsclient

import (
	"embed"
	"io/fs"
)

//go:embed dist/*.js
var dist embed.FS

// Dist is the compiled client (dist/*.js) as a file system.
func Dist() fs.FS {
	sub, _ := fs.Sub(dist, "dist")
	return sub
}
