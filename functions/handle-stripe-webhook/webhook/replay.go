package webhook

import (
	"context"
	"encoding/json"

	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/httpkit"
	"billing/shared/mail"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// ProcessorNeeds is the configuration a Processor needs: the webhook's,
// without the signing secrets (a stored event was verified at receipt).
const ProcessorNeeds = config.NeedDatabase | config.NeedPlans | config.NeedStripe | config.NeedEmail

// Processor processes an event body exactly as a delivery to the webhook
// does after its signature check: the mode check, the one
// billing_apply_event call (with the fetch that orders same-second
// events), the 'failed' row with the error when it cannot be applied, and
// the emails after the commit. Replay (`billing replay`) uses it to
// re-apply stored events; an event already processed or ignored is a
// duplicate and changes nothing.
type Processor struct{ h *handler }

// NewProcessor returns a Processor with the handler's dependencies
// (o.Verifier is not used).
func NewProcessor(o Options) *Processor {
	return &Processor{h: &handler{o: o}}
}

// ProcessorFromDeps builds a Processor like Spec builds the handler, from
// dependencies loaded for ProcessorNeeds.
func ProcessorFromDeps(d *function.Deps) *Processor {
	cfg := d.Config
	api := stripeclient.New(cfg.StripeSecretKey, cfg.StripeAPIBase, nil, d.Log)
	return NewProcessor(Options{
		Mode: cfg.Mode,
		Syncer: &stripesync.Syncer{Store: d.Store, Catalog: d.Catalog, Locale: cfg.EmailLocale,
			PortalPath: PortalPath(cfg.PortalReturnURL)},
		Fetcher: StripeFetcher{API: api},
		Mailer:  SenderMailer{Sender: mail.NewFromConfig(cfg, d.Store, d.Log), Log: d.Log},
	})
}

// StatusOtherMode is Process's status for an event of the other Stripe
// mode: nothing was recorded or changed.
const StatusOtherMode = "ignored_mode"

// Process records and applies one event body (the stored payload of
// stripe_events). Its result's Status is "processed", "ignored",
// "duplicate" or StatusOtherMode. An error is what the webhook would have
// answered (an *httpkit.Error); a 'failed' row then keeps it.
func (p *Processor) Process(ctx context.Context, body []byte) (stripesync.ApplyResult, error) {
	h := p.h
	ev, err := stripesync.ParseEvent(body)
	if err != nil {
		return stripesync.ApplyResult{}, httpkit.BadRequest("The body is not a Stripe event.").WithCause(err)
	}
	ctx = httpkit.WithLogger(ctx, httpkit.Logger(ctx).With("event_id", ev.ID, "event_type", ev.Type))
	if ev.Livemode != (h.o.Mode == "live") {
		return stripesync.ApplyResult{Status: StatusOtherMode}, nil
	}
	res, err := h.process(ctx, ev, json.RawMessage(body))
	if err != nil {
		return res, h.fail(ctx, ev, body, err)
	}
	if len(res.EmailIDs) > 0 && h.o.Mailer != nil {
		h.send(ctx, res.EmailIDs)
	}
	return res, nil
}
