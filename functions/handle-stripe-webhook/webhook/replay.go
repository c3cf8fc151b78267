package webhook

import (
	"context"
	"time"

	"billing/shared/config"
	"billing/shared/function"
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
	return &Processor{h: newHandler(o)}
}

// ProcessorFromDeps builds a Processor like Spec builds the handler, from
// dependencies loaded for ProcessorNeeds.
func ProcessorFromDeps(d *function.Deps) *Processor {
	return NewProcessor(optionsFrom(d))
}

// StatusOtherMode is Process's status for an event of the other Stripe
// mode: nothing was recorded or changed.
const StatusOtherMode = "ignored_mode"

// Process records and applies one event body (the stored payload of
// stripe_events). Its result's Status is "processed", "ignored",
// "duplicate" or StatusOtherMode. An error is what the webhook would have
// answered (an *httpkit.Error); a 'failed' row then keeps it. Each event
// has the webhook's time budget (Options.Budget).
func (p *Processor) Process(ctx context.Context, body []byte) (stripesync.ApplyResult, error) {
	_, res, err := p.h.handle(ctx, body, time.Now().Add(p.h.o.Budget))
	return res, err
}
