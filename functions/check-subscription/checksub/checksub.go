// Package checksub is the check-subscription function: the caller's plan,
// status and access permissions, computed from the database on every call.
// It only reads, and it does not link stripe-go, so its binary stays small
// and starts fast.
package checksub

import (
	"context"
	"net/http"
	"time"

	"billing/shared/access"
	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/httpkit"
	"billing/shared/plans"
	"billing/shared/store"
)

// Name is the function's URL name.
const Name = "check-subscription"

// Spec describes the function for function.Main and the local server.
var Spec = function.Spec{
	Name:  Name,
	Needs: config.NeedDatabase | config.NeedAuth | config.NeedPlans | config.NeedSite,
	Build: func(_ context.Context, d *function.Deps) (http.Handler, error) {
		return New(d.Verifier, d.Store, d.Catalog, time.Now), nil
	},
}

// StateReader reads a user's billing state.
type StateReader interface {
	UserState(ctx context.Context, userID string) (store.UserState, error)
}

// New returns the check-subscription handler.
func New(a function.Authenticator, s StateReader, cat *plans.Catalog, now func() time.Time) http.Handler {
	h := &handler{auth: a, state: s, catalog: cat, now: now}
	return httpkit.Handle(h.serve)
}

type handler struct {
	auth    function.Authenticator
	state   StateReader
	catalog *plans.Catalog
	now     func() time.Time
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	if err := httpkit.Methods(r, http.MethodGet, http.MethodPost); err != nil {
		return err
	}
	user, err := h.auth.FromRequest(r)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		// The body carries nothing we use (older clients send userId);
		// it is still read under the limit and must be JSON if present.
		var ignored struct{}
		if err := httpkit.DecodeJSON(w, r, httpkit.AppBodyLimit, &ignored); err != nil {
			return err
		}
	}
	res, err := Compute(r.Context(), h.state, h.catalog, user.ID, h.now())
	if err != nil {
		return err
	}
	httpkit.WriteJSON(w, http.StatusOK, res)
	return nil
}

// Compute reads the user's state and usage counters (one database call)
// and applies the access rules and the catalog's usage limits; the other
// functions that answer with the check-subscription body use it too.
func Compute(ctx context.Context, s StateReader, cat *plans.Catalog, userID string, now time.Time) (access.Result, error) {
	st, err := s.UserState(ctx, userID)
	if err != nil {
		return access.Result{}, store.HTTPError(err)
	}
	res := access.Compute(st.AccessSubscriptions(), cat, now)
	res.Usage = access.Usage(cat, res.Plan, st.StoredUsage(), now)
	return res, nil
}
