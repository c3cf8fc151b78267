// Package demo is the static demo page `billing dev` serves at "/": sign
// in as the demo user (or a new one), see the plan, status, access flags
// and limits, start a checkout and pay it on the local Stripe, watch the
// webhook events arrive, cancel with a reason, resume, use a counted action
// until its limit and end the period. It is plain HTML and an ES module
// using the TypeScript client (served at /client/), with no build step.
package demo

import (
	"embed"
	"io/fs"
	"net/http"

	"billing/shared/httpkit"
)

//go:embed static
var static embed.FS

// Config is what the page needs to know about the stack it runs on.
type Config struct {
	// DemoUserID is the user "Sign in as the demo user" signs in as.
	DemoUserID string `json:"demoUserId"`
	// LocalStripe says whether the local Stripe (pay, clock) is there.
	LocalStripe bool `json:"localStripe"`
	// LocalStripePath and FunctionsPath are the URL paths of the local
	// Stripe's control endpoints and of the functions.
	LocalStripePath string `json:"localStripePath"`
	FunctionsPath   string `json:"functionsPath"`
	// Prices maps each paid plan to its Stripe price (the local Stripe's
	// portal-style plan change needs the price).
	Prices map[string]string `json:"prices"`
}

// Handler serves the page at "/", its files under /demo/ and the config at
// /demo/config.json; every other path is a JSON 404.
func Handler(cfg Config) http.Handler {
	files, _ := fs.Sub(static, "static")
	fileServer := http.StripPrefix("/demo/", http.FileServerFS(files))
	notFound := httpkit.NotFound()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFileFS(w, r, files, "index.html")
		case r.URL.Path == "/demo/config.json":
			httpkit.WriteJSON(w, http.StatusOK, cfg)
		case len(r.URL.Path) > len("/demo/") && r.URL.Path[:len("/demo/")] == "/demo/":
			w.Header().Set("Cache-Control", "no-store")
			fileServer.ServeHTTP(w, r)
		default:
			notFound.ServeHTTP(w, r)
		}
	})
}
