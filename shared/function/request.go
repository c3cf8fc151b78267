package function

import (
	"net/http"

	"billing/shared/auth"
	"billing/shared/httpkit"
)

// Authenticator verifies the caller's token (auth.Verifier).
type Authenticator interface {
	FromRequest(r *http.Request) (auth.User, error)
}

// DecodeUserPOST is the start of a request a signed-in user POSTs: the
// method must be POST (else 405 method_not_allowed), the caller's token is
// verified by a (401), and the JSON body is decoded into params under
// httpkit.AppBodyLimit (415, 413 or 400; unknown fields are ignored, an
// empty body decodes as {}). The checks run in that order, so a wrong
// method is answered before a missing token, and a missing token before a
// bad body. It returns the caller.
func DecodeUserPOST(w http.ResponseWriter, r *http.Request, a Authenticator, params any) (auth.User, error) {
	if err := httpkit.Methods(r, http.MethodPost); err != nil {
		return auth.User{}, err
	}
	user, err := a.FromRequest(r)
	if err != nil {
		return auth.User{}, err
	}
	if err := httpkit.DecodeJSON(w, r, httpkit.AppBodyLimit, params); err != nil {
		return auth.User{}, err
	}
	return user, nil
}
