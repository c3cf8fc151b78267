package webhook

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"

	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/mail"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// Spec describes the function for function.Main and the local server.
// It needs Stripe (the fetch of a subscription an event cannot order) and
// email (the outbox rows it writes are sent after the commit).
var Spec = function.Spec{
	Name:  Name,
	Needs: config.NeedDatabase | config.NeedWebhook | config.NeedPlans | config.NeedStripe | config.NeedEmail,
	Build: func(_ context.Context, d *function.Deps) (http.Handler, error) {
		o := optionsFrom(d)
		o.Verifier = Verifier{Secrets: d.Config.WebhookSecrets}
		return New(o), nil
	},
}

// optionsFrom builds the handler's dependencies from the function's: the
// Syncer over the store and catalog, stripe-go for the fetch, shared/mail
// for the emails.
func optionsFrom(d *function.Deps) Options {
	cfg := d.Config
	api := stripeclient.New(cfg.StripeSecretKey, cfg.StripeAPIBase, nil, d.Log)
	return Options{
		Mode: cfg.Mode,
		Syncer: &stripesync.Syncer{Store: d.Store, Catalog: d.Catalog, Locale: cfg.EmailLocale,
			PortalPath: PortalPath(cfg.PortalReturnURL)},
		Fetcher: StripeFetcher{API: api},
		Mailer:  SenderMailer{Sender: mail.NewFromConfig(cfg, d.Store, d.Log), Log: d.Log},
	}
}

// PortalPath is the path of STRIPE_BILLING_PORTAL_RETURN_URL (the app page
// the portal returns to, which is also where it is opened from), or
// stripesync.DefaultPortalPath.
func PortalPath(returnURL string) string {
	u, err := url.Parse(returnURL)
	if err != nil || u.Path == "" || u.Path == "/" {
		return stripesync.DefaultPortalPath
	}
	return u.Path
}

// SenderMailer adapts shared/mail's Sender to Mailer, logging its report.
type SenderMailer struct {
	Sender *mail.Sender
	Log    *slog.Logger
}

// SendIDs implements Mailer.
func (m SenderMailer) SendIDs(ctx context.Context, ids []int64) error {
	r, err := m.Sender.SendIDs(ctx, ids)
	if m.Log != nil {
		m.Log.DebugContext(ctx, "webhook: emails after commit", "sent", r.Sent, "logged", r.Logged,
			"failed", r.Failed, "gave_up", r.GaveUp)
	}
	return err
}
