// Package mail sends the billing emails written to the email outbox.
//
// The webhook inserts outbox rows (no address, only a user ID, a kind and
// template data) in the same transaction as the event's effects and, after
// commit, hands their IDs to SendIDs. The reconcile job calls SendDue to
// retry what failed. Both claim rows through the billing_outbox_claim SQL
// function (a lease, so two senders never send one row and a crashed
// sender's rows come back), look the address up in auth.users at send time,
// send through SendGrid (sendgrid-go), and record the outcome with
// billing_outbox_mark: sent, failed (retried with exponential backoff until
// MaxAttempts, then gave_up), or gave_up when the user has no address.
//
// Without a SendGrid API key nothing is sent: each email is logged (kind,
// outbox ID and user ID, never the address or body) and marked 'logged'.
//
// A SendGrid failure is never an error of SendIDs or SendDue: only a
// database failure is. Addresses and bodies are never logged.
package mail

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"billing/shared/config"
	"billing/shared/outbound"
	"billing/shared/store"
)

// Email kinds, as the webhook writes them into email_outbox.kind.
const (
	KindWelcome               = "welcome"
	KindPaymentFailed         = "payment_failed"
	KindCancellationScheduled = "cancellation_scheduled"
	KindSubscriptionEnded     = "subscription_ended"
)

// Kinds lists every email kind.
var Kinds = []string{KindWelcome, KindPaymentFailed, KindCancellationScheduled, KindSubscriptionEnded}

// Defaults.
const (
	// DefaultMaxAttempts is how many sends are tried before a row gives up.
	DefaultMaxAttempts = 8
	// DefaultLease is how long a claimed row stays hidden from other senders.
	DefaultLease = 10 * time.Minute
	// DefaultSendTimeout bounds one SendGrid request.
	DefaultSendTimeout = 20 * time.Second
	// DefaultDueLimit is SendDue's limit when it is given none.
	DefaultDueLimit = 100
	// batchSize is how many rows one claim takes: with DefaultSendTimeout per
	// message a batch finishes well within DefaultLease.
	batchSize = 10
	// markTimeout bounds recording one outcome.
	markTimeout = 15 * time.Second
	// DefaultAPIBase is SendGrid's API host.
	DefaultAPIBase = "https://api.sendgrid.com"
	// DefaultPortalPath is the site's billing page when the row names none.
	DefaultPortalPath = "/account"
)

// Report counts what one SendIDs or SendDue call did with the rows it claimed.
type Report struct {
	Sent   int `json:"sent"`    // accepted by SendGrid
	Logged int `json:"logged"`  // no API key: logged instead of sent
	Failed int `json:"failed"`  // failed this time; the row stays pending for a retry
	GaveUp int `json:"gave_up"` // no address, or the last attempt failed
}

// Add adds o's counts to r.
func (r *Report) Add(o Report) {
	r.Sent += o.Sent
	r.Logged += o.Logged
	r.Failed += o.Failed
	r.GaveUp += o.GaveUp
}

// Total is the number of rows the call handled.
func (r Report) Total() int { return r.Sent + r.Logged + r.Failed + r.GaveUp }

// Config is the sender's configuration.
type Config struct {
	APIKey   string // SENDGRID_API_KEY; empty: log instead of sending
	APIBase  string // SENDGRID_API_BASE; default https://api.sendgrid.com
	From     string // EMAIL_FROM
	FromName string // EMAIL_FROM_NAME
	Locale   string // EMAIL_LOCALE ("en" or "ja") for rows without a locale
	SiteURL  string // SITE_URL, base of the links in the emails
	// Templates maps an email kind to a SendGrid dynamic template ID
	// (SENDGRID_TEMPLATE_<KIND>); kinds without one use the built-in text.
	Templates map[string]string
	// MaxAttempts is how many sends are tried before a row gives up
	// (default 8).
	MaxAttempts int
	// HTTPClient sends the SendGrid requests; default a client with a
	// 20 second timeout.
	HTTPClient *http.Client
	// Lease is how long a claimed row is hidden from other senders
	// (default 10 minutes).
	Lease time.Duration
}

// Sender sends outbox emails. It is safe for concurrent use.
type Sender struct {
	cfg    Config
	caller store.Caller
	log    *slog.Logger
	sg     *sendgridClient
}

// NewFromConfig builds a Sender from the function's configuration
// (config.NeedEmail) and store.
func NewFromConfig(cfg *config.Config, st *store.Store, log *slog.Logger) *Sender {
	return New(Config{
		APIKey:    cfg.SendGridAPIKey,
		APIBase:   cfg.SendGridAPIBase,
		From:      cfg.EmailFrom,
		FromName:  cfg.EmailFromName,
		Locale:    cfg.EmailLocale,
		SiteURL:   cfg.SiteURL,
		Templates: cfg.EmailTemplates,
	}, st, log)
}

// New builds a Sender that claims and marks rows through caller.
// log may be nil.
func New(c Config, caller store.Caller, log *slog.Logger) *Sender {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	c.APIBase = strings.TrimRight(c.APIBase, "/")
	if c.APIBase == "" {
		c.APIBase = DefaultAPIBase
	}
	c.SiteURL = strings.TrimRight(c.SiteURL, "/")
	c.Locale = normalizeLocale(c.Locale, "en")
	if c.HTTPClient == nil {
		c.HTTPClient = outbound.Client(DefaultSendTimeout)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: c, caller: caller, log: log,
		sg: &sendgridClient{key: c.APIKey, base: c.APIBase, http: c.HTTPClient}}
}

// SendIDs claims exactly the rows with these IDs that are still pending and
// due, and sends them. The webhook calls it right after its transaction
// commits; rows another sender holds, or already sent, are skipped. Its
// error is a database failure only (the rows then stay for SendDue).
func (s *Sender) SendIDs(ctx context.Context, ids []int64) (Report, error) {
	var total Report
	for start := 0; start < len(ids); start += batchSize {
		chunk := ids[start:min(start+batchSize, len(ids))]
		rows, err := s.claim(ctx, chunk, len(chunk))
		if err != nil {
			return total, err
		}
		r, err := s.sendRows(ctx, rows)
		total.Add(r)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// SendDue claims due rows (pending, next_attempt_at <= now), at most limit
// (DefaultDueLimit when limit <= 0), in batches, and sends them. The
// reconcile job calls it. Its error is a database failure only.
func (s *Sender) SendDue(ctx context.Context, limit int) (Report, error) {
	if limit <= 0 {
		limit = DefaultDueLimit
	}
	var total Report
	for total.Total() < limit {
		n := min(batchSize, limit-total.Total())
		rows, err := s.claim(ctx, nil, n)
		if err != nil {
			return total, err
		}
		r, err := s.sendRows(ctx, rows)
		total.Add(r)
		if err != nil || len(rows) < n {
			return total, err
		}
	}
	return total, nil
}

// sendRows sends claimed rows one by one and records each outcome. It stops
// at the first database failure, or when ctx ends; the rows not handled yet
// come back when their lease runs out.
func (s *Sender) sendRows(ctx context.Context, rows []outboxRow) (Report, error) {
	var r Report
	for _, row := range rows {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		status, errText := s.deliver(ctx, row)
		// The outcome is recorded even when ctx ends meanwhile: a send that
		// is not recorded would be sent again once the lease runs out.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
		res, err := s.mark(mctx, row.ID, status, errText)
		cancel()
		if err != nil {
			return r, fmt.Errorf("mail: outbox %d: %w", row.ID, err)
		}
		switch res.Status {
		case "sent":
			r.Sent++
		case "logged":
			r.Logged++
		case "gave_up":
			r.GaveUp++
		default:
			r.Failed++
		}
		if status == statusFailed && res.Status == "gave_up" {
			s.log.Warn("email gave up", "outbox_id", row.ID, "kind", row.Kind, "user_id", row.UserID,
				"attempts", res.Attempts, "error", errText)
		}
	}
	return r, nil
}

// deliver sends one row (or logs it without an API key) and returns the
// status to record and, for a failure, the error without any address.
func (s *Sender) deliver(ctx context.Context, row outboxRow) (status, errText string) {
	lg := s.log.With("outbox_id", row.ID, "kind", row.Kind, "user_id", row.UserID, "attempt", row.Attempts)
	if row.Email == "" {
		lg.Warn("email not sent: the user has no address (deleted or none)")
		return statusGaveUp, "no email address for the user"
	}
	locale := normalizeLocale(row.Locale, s.cfg.Locale)
	if s.cfg.APIKey == "" {
		lg.Info("email logged, not sent (no SENDGRID_API_KEY)", "locale", locale)
		return statusLogged, ""
	}
	msg, err := s.message(row, locale)
	if err != nil {
		e := redact(err.Error(), row.Email)
		lg.Error("email not sent: cannot build the message", "error", e)
		return statusGaveUp, e
	}
	code, err := s.sg.send(ctx, msg)
	if err != nil {
		e := redact(err.Error(), row.Email)
		lg.Warn("email send failed", "status", code, "error", e)
		return statusFailed, e
	}
	lg.Info("email sent", "locale", locale, "status", code)
	return statusSent, ""
}
