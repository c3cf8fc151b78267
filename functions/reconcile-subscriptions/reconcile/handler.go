package reconcile

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/shared/auth"
	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/httpkit"
	"billing/shared/mail"
	"billing/shared/plans"
	"billing/shared/store"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// Name is the function's URL name.
const Name = "reconcile-subscriptions"

// Spec describes the function for the local server and the template tests.
// NeedOperator reads RECONCILE_TOKEN, the operators' bearer secret.
var Spec = function.Spec{
	Name: Name,
	Needs: config.NeedDatabase | config.NeedAuth | config.NeedStripe | config.NeedPlans |
		config.NeedSite | config.NeedEmail | config.NeedOperator,
	Build: func(_ context.Context, d *function.Deps) (http.Handler, error) {
		return FromDeps(d).Handler(), nil
	},
}

// Main is the function binary's main: HTTP requests (users, operators) and,
// on Lambda, the scheduled EventBridge event.
func Main() {
	log := httpkit.NewLogger(os.Getenv("LOG_LEVEL"))
	ctx := context.Background()
	cfg, err := config.FromEnv(Spec.Needs)
	if err != nil {
		slog.SetDefault(log)
		httpkit.Fatal(Name, err)
	}
	deps, err := function.NewDeps(ctx, cfg, log)
	if err != nil {
		slog.SetDefault(log)
		httpkit.Fatal(Name, err)
	}
	deps.SyncCatalog(ctx)
	svc := FromDeps(deps)
	httpkit.RunWithEvents(Name, function.Wrap(Name, cfg, log, svc.Handler()), log, svc.HandleEvent)
}

// NewReconciler builds a Reconciler from the configuration
// (config.NeedStripe, NeedEmail), the store and the catalog. log may be nil.
func NewReconciler(cfg *config.Config, st *store.Store, cat *plans.Catalog, log *slog.Logger) *Reconciler {
	api := stripeclient.New(cfg.StripeSecretKey, cfg.StripeAPIBase, nil, log)
	return &Reconciler{
		Stripe:  NewStripeAPI(api),
		Syncer:  &stripesync.Syncer{Store: st, Catalog: cat, Locale: cfg.EmailLocale},
		Store:   st,
		Catalog: cat,
		Mail:    mail.NewFromConfig(cfg, st, log),
	}
}

// Authenticator verifies a user's token.
type Authenticator interface {
	FromRequest(r *http.Request) (auth.User, error)
}

// Service is the function: the reconciler and who may call it how.
type Service struct {
	Reconciler *Reconciler
	Auth       Authenticator
	// Token is RECONCILE_TOKEN; "" refuses operator calls over HTTP.
	Token string
	// Interval is the per-user sync interval (UserSyncInterval).
	Interval time.Duration
}

// FromDeps builds the Service of the function's dependencies.
func FromDeps(d *function.Deps) *Service {
	return &Service{Reconciler: NewReconciler(d.Config, d.Store, d.Catalog, d.Log), Auth: d.Verifier,
		Token: d.Config.ReconcileToken, Interval: UserSyncInterval}
}

// Handler is the HTTP side (POST): a user's token syncs that user and
// answers the check-subscription body; the operator token runs Run with the
// body's RunParams and answers the Report.
func (s *Service) Handler() http.Handler { return httpkit.Handle(s.serve) }

// RunParams is the body of an operator call, and the payload of a direct
// Lambda invocation.
type RunParams struct {
	// Apply writes the differences; false (the default) is a dry run. The
	// EventBridge schedule's event always applies.
	Apply bool `json:"apply"`
	// UserID limits the run to one user (operators only).
	UserID string `json:"userId"`
	// SkipEmails leaves the outbox alone.
	SkipEmails bool `json:"skipEmails"`
	// EmailLimit bounds the emails sent (default mail.DefaultDueLimit).
	EmailLimit int `json:"emailLimit"`
}

func (p RunParams) validate() error {
	if p.UserID != "" && !auth.IsUUID(p.UserID) {
		return httpkit.BadRequest("Field \"userId\" must be a user ID (UUID).")
	}
	if p.EmailLimit < 0 || p.EmailLimit > 10000 {
		return httpkit.BadRequest("Field \"emailLimit\" must be between 0 and 10000.")
	}
	return nil
}

func (p RunParams) options() Options {
	return Options{Apply: p.Apply, UserID: strings.ToLower(p.UserID), SkipEmails: p.SkipEmails, EmailLimit: p.EmailLimit}
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) error {
	if err := httpkit.Methods(r, http.MethodPost); err != nil {
		return err
	}
	ctx := r.Context()
	if s.isOperator(r) {
		var p RunParams
		if err := httpkit.DecodeJSON(w, r, httpkit.AppBodyLimit, &p); err != nil {
			return err
		}
		if err := p.validate(); err != nil {
			return err
		}
		rep, err := s.Reconciler.Run(ctx, p.options())
		logReport(ctx, rep, err)
		if err != nil {
			return store.HTTPError(err)
		}
		httpkit.WriteJSON(w, http.StatusOK, rep)
		return nil
	}
	user, err := s.Auth.FromRequest(r)
	if err != nil {
		return err
	}
	// The body carries nothing we use (a userId is ignored: the user is
	// the token's); it must still be JSON under the limit.
	var ignored struct{}
	if err := httpkit.DecodeJSON(w, r, httpkit.AppBodyLimit, &ignored); err != nil {
		return err
	}
	outcome, err := s.Reconciler.SyncUser(ctx, user.ID, s.Interval)
	if err != nil {
		return err
	}
	res, err := checksub.Compute(ctx, s.Reconciler.Store, s.Reconciler.Catalog, user.ID, s.Reconciler.now())
	if err != nil {
		return err
	}
	w.Header().Set("X-Billing-Sync", outcome)
	httpkit.WriteJSON(w, http.StatusOK, res)
	return nil
}

// isOperator reports whether the request carries RECONCILE_TOKEN as its
// bearer token (compared in constant time).
func (s *Service) isOperator(r *http.Request) bool {
	if s.Token == "" {
		return false
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.Token)) == 1
}

// HandleEvent runs a non-HTTP Lambda invocation: the EventBridge schedule
// (source aws.events: a full applied run) or a direct invocation whose
// payload is RunParams. Item errors fail the invocation after the report is
// logged, so that the function's error metric alarms.
func (s *Service) HandleEvent(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev struct {
		Source string `json:"source"`
		RunParams
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("reconcile: event is not a JSON object: %w", err)
	}
	p := ev.RunParams
	if ev.Source == "aws.events" {
		p = RunParams{Apply: true}
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	rep, err := s.Reconciler.Run(ctx, p.options())
	logReport(ctx, rep, err)
	if err != nil {
		return nil, err
	}
	if !rep.OK() {
		return nil, fmt.Errorf("reconcile: %d subscription(s) could not be reconciled; see the log", len(rep.Errors))
	}
	return rep, nil
}

// logReport logs a run's summary: counts and user IDs, never emails.
func logReport(ctx context.Context, rep *Report, err error) {
	log := httpkit.Logger(ctx)
	if rep == nil {
		return
	}
	attrs := []any{"mode", rep.Mode, "scope", rep.Scope, "checked", rep.Checked, "changed", rep.Changed,
		"applied", rep.Applied, "stale", rep.Stale, "access_changed", rep.AccessChanged, "errors", len(rep.Errors)}
	if rep.Emails != nil {
		attrs = append(attrs, "emails_sent", rep.Emails.Sent, "emails_logged", rep.Emails.Logged,
			"emails_failed", rep.Emails.Failed, "emails_gave_up", rep.Emails.GaveUp)
	}
	for _, e := range rep.Errors {
		log.ErrorContext(ctx, "reconcile: subscription not reconciled", "subscription_id", e.SubscriptionID, "error", e.Error)
	}
	for user, subs := range rep.Concurrent {
		log.ErrorContext(ctx, "reconcile: a user has more than one subscription that grants access; the first counts, refund or cancel the others",
			"user_id", user, "subscription_ids", subs)
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
		log.ErrorContext(ctx, "reconcile run failed", attrs...)
		return
	}
	log.InfoContext(ctx, "reconcile run", attrs...)
}
