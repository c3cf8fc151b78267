// Package webhook is the handle-stripe-webhook function: it verifies a
// Stripe event over the raw bytes Stripe signed, and records and applies it
// exactly once, in any order, with its transactional emails.
//
// Flow of one POST:
//
//  1. read the body (at most 1 MiB, else 413) and check Stripe-Signature
//     with each configured secret (rotation), 300 s tolerance (else 400
//     invalid_signature);
//  2. read the envelope of any API version (else 400 invalid_request); an
//     event whose livemode is not STRIPE_MODE's answers 200 and changes
//     nothing;
//  3. one billing_apply_event call records the event and applies its
//     effects in one transaction (stripesync); a duplicate answers 200;
//     a same-second subscription state (or an unreadable one, or a
//     checkout/invoice whose subscription is not stored yet) is fetched
//     from Stripe and the call is made again;
//  4. after the commit the new outbox rows are sent; a mail failure never
//     fails the webhook (the rows stay pending for the reconcile job).
//
// 5xx answers only failures worth a retry (database unavailable 503,
// unknown price 500, Stripe unreachable 502/503); nothing of the event is
// applied then, and a 'failed' row keeps the error for the reconcile job.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"billing/shared/httpkit"
	"billing/shared/store"
	"billing/shared/stripesync"
)

// Name is the function's URL name.
const Name = "handle-stripe-webhook"

// Mailer sends outbox rows after the commit (shared/mail's Sender, adapted).
type Mailer interface {
	SendIDs(ctx context.Context, ids []int64) error
}

// Options are the handler's dependencies.
type Options struct {
	// Verifier checks the signature.
	Verifier Verifier
	// Mode is STRIPE_MODE ("test" or "live"); events of the other mode
	// change nothing.
	Mode string
	// Syncer records and applies events.
	Syncer *stripesync.Syncer
	// Fetcher reads subscriptions from Stripe when an event cannot be ordered.
	Fetcher Fetcher
	// Mailer sends the emails an event enqueued; nil sends nothing (the
	// reconcile job sends pending rows).
	Mailer Mailer
	// Budget bounds the whole delivery, Stripe fetches, the wait before a
	// second fetch and the mail after the commit included, well within
	// Stripe's 20 s timeout; 0 means DefaultBudget.
	Budget time.Duration
	// MailTimeout is the mail's own budget after the commit (never more
	// than what is left of Budget); 0 means DefaultMailTimeout. What does
	// not fit stays pending for the reconcile job.
	MailTimeout time.Duration
}

// Time budgets of one delivery.
const (
	// DefaultBudget bounds a whole delivery (Stripe waits 20 s at most).
	DefaultBudget = 8 * time.Second
	// DefaultMailTimeout bounds the mail after the commit.
	DefaultMailTimeout = 2 * time.Second
	// failureReserve is kept from the processing budget to record a
	// failure.
	failureReserve = time.Second
)

// New returns the handle-stripe-webhook handler.
func New(o Options) http.Handler {
	return httpkit.Handle(newHandler(o).serve)
}

type handler struct{ o Options }

// newHandler fills in the defaults of o.
func newHandler(o Options) *handler {
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.MailTimeout <= 0 {
		o.MailTimeout = DefaultMailTimeout
	}
	return &handler{o: o}
}

// response is the 200 body.
type response struct {
	Received bool   `json:"received"`
	ID       string `json:"id,omitempty"`
	Status   string `json:"status"`
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	deadline := time.Now().Add(h.o.Budget)
	if err := httpkit.Methods(r, http.MethodPost); err != nil {
		return err
	}
	body, err := httpkit.ReadBody(w, r, httpkit.WebhookBodyLimit)
	if err != nil {
		return err
	}
	if err := h.o.Verifier.Verify(body, r.Header.Get("Stripe-Signature")); err != nil {
		return err
	}
	ev, res, err := h.handle(r.Context(), body, deadline)
	if err != nil {
		return err
	}
	httpkit.WriteJSON(w, http.StatusOK, response{Received: true, ID: ev.ID, Status: res.Status})
	return nil
}

// handle processes a verified body: the mode check, the SQL call(s), the
// 'failed' row when it cannot be applied, and the emails after the
// commit, all before deadline: processing stops failureReserve earlier
// (a failure is then recorded in what is left) and the mail gets at most
// MailTimeout of the rest. An error is the answer (an *httpkit.Error).
func (h *handler) handle(ctx context.Context, body []byte, deadline time.Time) (stripesync.Event, stripesync.ApplyResult, error) {
	ev, err := stripesync.ParseEvent(body)
	if err != nil {
		return ev, stripesync.ApplyResult{}, httpkit.BadRequest("The body is not a Stripe event.").WithCause(err)
	}
	log := httpkit.Logger(ctx).With("event_id", ev.ID, "event_type", ev.Type)
	ctx = httpkit.WithLogger(ctx, log)

	if ev.Livemode != (h.o.Mode == "live") {
		log.WarnContext(ctx, "webhook: event of the other Stripe mode ignored; check the endpoint's secret",
			"livemode", ev.Livemode, "stripe_mode", h.o.Mode)
		return ev, stripesync.ApplyResult{Status: StatusOtherMode}, nil
	}
	pctx, cancel := context.WithDeadline(ctx, deadline.Add(-failureReserve))
	res, err := h.process(pctx, ev, body)
	cancel()
	if err != nil {
		return ev, res, h.fail(ctx, ev, body, err, deadline)
	}
	log.InfoContext(ctx, "webhook: event handled", "status", res.Status, "subscription", res.Subscription,
		"user_ids", res.UserIDs, "emails", len(res.EmailIDs), "link", res.Link)
	if len(res.EmailIDs) > 0 && h.o.Mailer != nil {
		h.send(ctx, res.EmailIDs, deadline)
	}
	return ev, res, nil
}

// send sends the committed outbox rows within MailTimeout and before
// deadline; a failure is logged only, and what was not sent stays pending
// for the reconcile job.
func (h *handler) send(ctx context.Context, ids []int64, deadline time.Time) {
	budget := min(h.o.MailTimeout, time.Until(deadline))
	if budget <= 0 {
		httpkit.Logger(ctx).WarnContext(ctx, "webhook: no time left for the emails; they stay pending for the reconcile job",
			"outbox_ids", ids)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	if err := h.o.Mailer.SendIDs(ctx, ids); err != nil {
		httpkit.Logger(ctx).WarnContext(ctx, "webhook: emails stay pending for the reconcile job",
			"outbox_ids", ids, "cause", err.Error())
	}
}

// errBadObject marks a data.object billing cannot read at all.
var errBadObject = errors.New("webhook: unreadable data.object")

// fail maps a processing error to the answer, and keeps a 'failed' row
// for the errors worth a retry.
func (h *handler) fail(ctx context.Context, ev stripesync.Event, body []byte, err error, deadline time.Time) error {
	log := httpkit.Logger(ctx)
	var herr *httpkit.Error
	var upe *stripesync.UnknownPriceError
	switch {
	case errors.As(err, &upe):
		log.ErrorContext(ctx, "webhook: unknown price; add it to the plan catalog, Stripe will retry",
			"price_id", upe.PriceID, "subscription_id", upe.SubscriptionID)
		herr = &httpkit.Error{Status: http.StatusInternalServerError, Code: httpkit.CodeUnknownPrice,
			Message: "The event names a price that is not in the plan catalog.", Cause: err}
	case errors.Is(err, errBadObject):
		return httpkit.BadRequest("The event's data.object cannot be read.").WithCause(err)
	case store.IsUnavailable(err), errors.Is(err, context.DeadlineExceeded):
		herr = httpkit.Unavailable(err)
	default:
		herr = httpkit.AsError(err)
		if herr.Status < 500 {
			herr = httpkit.Internal(err)
		}
	}
	rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	if rerr := h.o.Syncer.RecordFailure(rctx, ev, json.RawMessage(body), err); rerr != nil {
		log.WarnContext(ctx, "webhook: could not record the failure", "cause", rerr.Error())
	}
	return herr
}
