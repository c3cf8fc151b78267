package devstack

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"billing/shared/auth"
	"billing/shared/httpkit"
)

// DevAPI is what `billing dev` serves besides the functions, for the demo
// page and local apps; it exists only in development:
//
//	POST /dev/token                      {"userId"?, "email"?}: create the user (auth.users) and mint a token
//	POST /rest/v1/rpc/consume_usage      {"p_counter", "p_amount"?}: as Supabase's REST API, for the token's user
//	POST /rest/v1/rpc/get_usage          {"p_counter"}
type DevAPI struct {
	DB        *pgxpool.Pool
	Verifier  *auth.Verifier
	JWTSecret string
	Issuer    string
	// DefaultUser and DefaultEmail are the demo user's.
	DefaultUser, DefaultEmail string
}

// Handler mounts the dev endpoints on mux.
func (d *DevAPI) Handler(mux *http.ServeMux) {
	mux.Handle("/dev/token", httpkit.Handle(d.token))
	mux.Handle("/rest/v1/rpc/consume_usage", httpkit.Handle(d.rpc("consume_usage")))
	mux.Handle("/rest/v1/rpc/get_usage", httpkit.Handle(d.rpc("get_usage")))
}

// tokenParams is the body of POST /dev/token.
type tokenParams struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
	// TTLSeconds is the token's lifetime (default a day; negative mints an
	// expired one, to see the 401 an app gets).
	TTLSeconds int `json:"ttlSeconds"`
}

// TokenResponse is the answer of POST /dev/token.
type TokenResponse struct {
	UserID      string `json:"userId"`
	Email       string `json:"email"`
	AccessToken string `json:"access_token"`
}

func (d *DevAPI) token(w http.ResponseWriter, r *http.Request) error {
	if err := httpkit.Methods(r, http.MethodPost); err != nil {
		return err
	}
	var p tokenParams
	if err := httpkit.DecodeJSON(w, r, httpkit.AppBodyLimit, &p); err != nil {
		return err
	}
	switch {
	case p.UserID == "" && p.Email == "":
		p.UserID, p.Email = d.DefaultUser, d.DefaultEmail
	case p.UserID == "":
		p.UserID = auth.NewUUID()
	}
	p.UserID = strings.ToLower(p.UserID)
	if !auth.IsUUID(p.UserID) {
		return httpkit.BadRequest("Field \"userId\" must be a user ID (UUID).")
	}
	if p.Email == "" {
		p.Email = "user-" + p.UserID[:8] + "@example.com"
	}
	if err := EnsureUser(r.Context(), d.DB, p.UserID, p.Email); err != nil {
		return httpkit.Internal(err)
	}
	ttl := 24 * time.Hour
	if p.TTLSeconds != 0 {
		ttl = time.Duration(p.TTLSeconds) * time.Second
	}
	tok, err := auth.Mint(d.JWTSecret, auth.MintClaims{UserID: p.UserID, Email: p.Email, Issuer: d.Issuer, TTL: ttl})
	if err != nil {
		return httpkit.Internal(err)
	}
	httpkit.WriteJSON(w, http.StatusOK, TokenResponse{UserID: p.UserID, Email: p.Email, AccessToken: tok})
	return nil
}

// Execer is what EnsureUser needs: a pool or a connection.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// EnsureUser creates the user in auth.users unless it exists.
func EnsureUser(ctx context.Context, db Execer, userID, email string) error {
	_, err := db.Exec(ctx, `insert into auth.users (id, email) values ($1, $2) on conflict (id) do nothing`, userID, email)
	return err
}

// rpcParams is the body of the usage RPCs, as supabase.rpc sends it.
type rpcParams struct {
	Counter string `json:"p_counter"`
	Amount  *int   `json:"p_amount"`
}

// rpc calls public.<fn> as the token's user (role authenticated, the
// claims in request.jwt.claims), as PostgREST does.
func (d *DevAPI) rpc(fn string) httpkit.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := httpkit.Methods(r, http.MethodPost); err != nil {
			return err
		}
		user, err := d.Verifier.FromRequest(r)
		if err != nil {
			return err
		}
		var p rpcParams
		if err := httpkit.DecodeJSON(w, r, httpkit.AppBodyLimit, &p); err != nil {
			return err
		}
		if p.Counter == "" {
			return httpkit.BadRequest("Field \"p_counter\" is required.")
		}
		claims, _ := json.Marshal(map[string]string{"sub": user.ID, "role": "authenticated"})
		var out json.RawMessage
		err = pgx.BeginFunc(r.Context(), d.DB, func(tx pgx.Tx) error {
			if _, err := tx.Exec(r.Context(), `select set_config('request.jwt.claims', $1, true)`, string(claims)); err != nil {
				return err
			}
			if _, err := tx.Exec(r.Context(), `set local role authenticated`); err != nil {
				return err
			}
			if fn == "consume_usage" {
				amount := 1
				if p.Amount != nil {
					amount = *p.Amount
				}
				return tx.QueryRow(r.Context(), `select public.consume_usage(p_counter => $1, p_amount => $2)`, p.Counter, amount).Scan(&out)
			}
			return tx.QueryRow(r.Context(), `select public.get_usage(p_counter => $1)`, p.Counter).Scan(&out)
		})
		if err != nil {
			return httpkit.Internal(err)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		return nil
	}
}
