package httpkit

import (
	"net/http"
	"strings"
)

// CORSAllowHeaders is what every function allows in a browser request; it
// covers what supabase-js's FunctionsClient and OpenTelemetry send.
const CORSAllowHeaders = "authorization, x-client-info, apikey, content-type, x-retry-count, traceparent, tracestate, baggage"

// CORS answers preflight requests and sets the CORS headers on every
// response, as Supabase Edge Functions do. origins is the allow list
// (ALLOWED_ORIGINS); "*" allows any origin. OPTIONS never needs a token.
func CORS(origins []string, next http.Handler) http.Handler {
	any := false
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "*" {
			any = true
		}
		if o != "" {
			allowed[strings.ToLower(o)] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		origin := r.Header.Get("Origin")
		switch {
		case any:
			h.Set("Access-Control-Allow-Origin", "*")
		case origin != "" && allowed[strings.ToLower(origin)]:
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
		default:
			h.Add("Vary", "Origin")
		}
		h.Set("Access-Control-Allow-Headers", CORSAllowHeaders)
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Max-Age", "86400")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
