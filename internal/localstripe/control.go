package localstripe

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
)

// The control endpoints, under Prefix (they play the customer's and the
// clock's part; none is a Stripe API):
//
//	GET  /checkout/{id}      the hosted checkout page of a session, with a Pay button
//	POST /checkout/{id}/pay  pay it (a form post redirects to the success URL)
//	POST /pay                {"session"?: "cs_...", "user"?: "<uuid>"}: pay a session (the user's newest open one)
//	POST /advance            {"subscription"?: "sub_...", "user"?: "<uuid>", "outcome"?: "renew"|"fail"}: end the period
//	POST /change-price       {"subscription"?: "sub_...", "user"?: "<uuid>", "price": "price_..."}: a portal plan change
//	GET  /events             {"deliveries": [...]}: the latest webhook deliveries
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == "/events" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": s.Deliveries()})
	case path == "/pay" && r.Method == http.MethodPost:
		var p struct {
			Session string `json:"session"`
			User    string `json:"user"`
		}
		if !decode(w, r, &p) {
			return
		}
		res, err := s.Pay(p.Session, strings.ToLower(p.User))
		s.writeResult(w, res, err, "no open Checkout Session to pay (start a checkout first)")
	case path == "/advance" && r.Method == http.MethodPost:
		var p struct {
			Subscription string  `json:"subscription"`
			User         string  `json:"user"`
			Outcome      Outcome `json:"outcome"`
		}
		if !decode(w, r, &p) {
			return
		}
		if p.Outcome == "" {
			p.Outcome = Renew
		}
		if p.Outcome != Renew && p.Outcome != Fail {
			controlError(w, http.StatusBadRequest, "invalid_request", `"outcome" must be "renew" or "fail"`)
			return
		}
		res, err := s.Advance(p.Subscription, strings.ToLower(p.User), p.Outcome)
		s.writeResult(w, res, err, "no subscription that has not ended")
	case path == "/change-price" && r.Method == http.MethodPost:
		var p struct {
			Subscription string `json:"subscription"`
			User         string `json:"user"`
			Price        string `json:"price"`
		}
		if !decode(w, r, &p) {
			return
		}
		res, err := s.ChangePrice(p.Subscription, strings.ToLower(p.User), p.Price)
		s.writeResult(w, res, err, "no subscription that has not ended")
	case strings.HasPrefix(path, "/checkout/"):
		s.serveCheckout(w, r, strings.TrimPrefix(path, "/checkout/"))
	default:
		controlError(w, http.StatusNotFound, "not_found", "no such local Stripe endpoint: "+r.Method+" "+Prefix+path)
	}
}

func (s *Server) writeResult(w http.ResponseWriter, res any, err error, notFound string) {
	switch {
	case errors.Is(err, ErrNotFound):
		controlError(w, http.StatusNotFound, "not_found", notFound)
	case errors.Is(err, ErrState):
		controlError(w, http.StatusConflict, "wrong_state", "the object's state does not allow this (already paid, or ended)")
	case err != nil:
		controlError(w, http.StatusInternalServerError, "internal_error", err.Error())
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// serveCheckout is the hosted checkout page of a session and its pay form.
func (s *Server) serveCheckout(w http.ResponseWriter, r *http.Request, rest string) {
	id, action, _ := strings.Cut(rest, "/")
	switch {
	case action == "" && r.Method == http.MethodGet:
		s.mu.Lock()
		cs := s.st.Sessions[id]
		var view map[string]any
		if cs != nil {
			view = map[string]any{"ID": cs.ID, "Price": cs.PriceID, "Status": cs.Status, "CancelURL": cs.CancelURL,
				"TrialDays": cs.TrialDays, "Action": Prefix + "/checkout/" + cs.ID + "/pay"}
		}
		s.mu.Unlock()
		if cs == nil {
			http.Error(w, "unknown Checkout Session", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = checkoutPage.Execute(w, view)
	case action == "pay" && r.Method == http.MethodPost:
		res, err := s.Pay(id, "")
		if err == nil && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
			http.Redirect(w, r, strings.ReplaceAll(res.SuccessURL, "{CHECKOUT_SESSION_ID}", res.SessionID), http.StatusSeeOther)
			return
		}
		s.writeResult(w, res, err, "unknown Checkout Session")
	default:
		controlError(w, http.StatusNotFound, "not_found", "no such local Stripe endpoint")
	}
}

var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local Stripe Checkout</title>
<style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
button{font:inherit;padding:.6rem 1.4rem}</style></head>
<body><h1>Local Stripe Checkout</h1>
<p>This stands in for Stripe Checkout under <code>make dev</code>: no card, no Stripe account.</p>
<p>Session <code>{{.ID}}</code>, price <code>{{.Price}}</code>{{if .TrialDays}}, {{.TrialDays}} trial days{{end}}, status <b>{{.Status}}</b>.</p>
{{if eq .Status "open"}}<form method="post" action="{{.Action}}"><button type="submit">Pay</button></form>
<p><a href="{{.CancelURL}}">Cancel and go back</a></p>{{else}}<p>This session is {{.Status}}.</p>{{end}}
</body></html>`))

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 {
		return true
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, "invalid_request", "the body must be a JSON object: "+err.Error())
		return false
	}
	return true
}

func controlError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
