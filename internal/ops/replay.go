// Package ops is the operator side of the billing functions, behind
// `billing replay`, `billing status` and `billing trigger`: re-applying
// stored Stripe events through the webhook's own processing, one user's
// billing state and history, and realistic signed sample events.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"billing/shared/store"
	"billing/shared/stripesync"
)

// Processor processes one event body as the webhook does after its
// signature check (webhook.Processor).
type Processor interface {
	Process(ctx context.Context, body []byte) (stripesync.ApplyResult, error)
}

// Selection says which stored events to replay: by ID, or by type and
// time range, or all that failed (Failed combines with the others).
type Selection struct {
	IDs   []string
	Types []string
	// Since and Until bound event.created: [Since, Until); zero is open.
	Since, Until time.Time
	// Failed selects only events whose status is 'failed'.
	Failed bool
}

// Validate refuses a selection that names nothing: replaying everything
// must be asked for with an explicit range.
func (s Selection) Validate() error {
	if len(s.IDs) == 0 && len(s.Types) == 0 && s.Since.IsZero() && s.Until.IsZero() && !s.Failed {
		return errors.New("say which events to replay: --id, --type and/or --since/--until, or --failed")
	}
	if !s.Since.IsZero() && !s.Until.IsZero() && !s.Since.Before(s.Until) {
		return errors.New("--since must be before --until")
	}
	return nil
}

// StoredEvent is one row of stripe_events as billing_events_select returns it.
type StoredEvent struct {
	ID       string  `json:"id"`
	Type     string  `json:"type"`
	Status   string  `json:"status"`
	Error    *string `json:"error"`
	Attempts int     `json:"attempts"`
	Created  *string `json:"created"`
	// Payload is the event body as received; null when it was not JSON.
	Payload json.RawMessage `json:"payload"`
}

// ReplayedEvent is what replaying one event did.
type ReplayedEvent struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Before string `json:"before"` // stored status before the replay
	// Result is the processing status: "processed", "ignored",
	// "duplicate" (already applied: nothing changed), "ignored_mode",
	// "failed", or "not_found".
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// ReplayReport is what Replay did, event by event, in Stripe's order.
type ReplayReport struct {
	Selected int             `json:"selected"`
	Counts   map[string]int  `json:"counts"`
	Events   []ReplayedEvent `json:"events"`
}

// OK reports whether every selected event was found and processed without error.
func (r *ReplayReport) OK() bool { return r.Counts["failed"] == 0 && r.Counts["not_found"] == 0 }

// Replay re-runs the stored payload of each selected event through p, in
// event.created order: an event that failed is applied as a first delivery
// would be (once: billing_apply_event records it in the same transaction);
// one already processed or ignored is a duplicate and changes nothing.
// progress, if set, is called after each event. A failure to read the
// selection stops the run; a failing event is reported and the run goes on.
func Replay(ctx context.Context, st *store.Store, p Processor, sel Selection, progress func(done int, ev ReplayedEvent)) (*ReplayReport, error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	rep := &ReplayReport{Counts: map[string]int{}, Events: []ReplayedEvent{}}
	found := map[string]bool{}
	err := selectEvents(ctx, st, sel, func(ev StoredEvent) error {
		found[ev.ID] = true
		rep.Selected++
		r := ReplayedEvent{ID: ev.ID, Type: ev.Type, Before: ev.Status}
		if len(ev.Payload) == 0 || string(ev.Payload) == "null" {
			r.Result, r.Error = "failed", "no payload stored for this event: resend it from the Stripe Dashboard"
		} else {
			res, err := p.Process(ctx, ev.Payload)
			switch {
			case err != nil:
				r.Result, r.Error = "failed", err.Error()
			case res.Duplicate || res.Status == "duplicate":
				r.Result = "duplicate"
			default:
				r.Result = res.Status
			}
		}
		rep.Counts[r.Result]++
		rep.Events = append(rep.Events, r)
		if progress != nil {
			progress(rep.Selected, r)
		}
		return nil
	})
	for _, id := range sel.IDs {
		if !found[id] {
			rep.Counts["not_found"]++
			rep.Events = append(rep.Events, ReplayedEvent{ID: id, Result: "not_found",
				Error: "no such event in stripe_events (never received: resend it from the Stripe Dashboard)"})
		}
	}
	return rep, err
}

// selectEvents pages through billing_events_select.
func selectEvents(ctx context.Context, st *store.Store, sel Selection, fn func(StoredEvent) error) error {
	var ids, types, since, until, status any
	if len(sel.IDs) > 0 {
		ids = textArray(sel.IDs)
	}
	if len(sel.Types) > 0 {
		types = textArray(sel.Types)
	}
	if !sel.Since.IsZero() {
		since = sel.Since.UTC()
	}
	if !sel.Until.IsZero() {
		until = sel.Until.UTC()
	}
	if sel.Failed {
		status = "failed"
	}
	var afterCreated, afterID any
	for {
		var page struct {
			Events []StoredEvent `json:"events"`
			Next   *struct {
				Created string `json:"created"`
				ID      string `json:"id"`
			} `json:"next"`
		}
		err := st.Call(ctx, "billing_events_select", []store.Arg{
			{Name: "p_ids", Value: ids}, {Name: "p_types", Value: types},
			{Name: "p_since", Value: since}, {Name: "p_until", Value: until},
			{Name: "p_status", Value: status},
			{Name: "p_after_created", Value: afterCreated}, {Name: "p_after_id", Value: afterID},
			{Name: "p_limit", Value: 100},
		}, &page)
		if err != nil {
			return err
		}
		for _, ev := range page.Events {
			if err := fn(ev); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		at, err := time.Parse(time.RFC3339Nano, page.Next.Created)
		if err != nil {
			return fmt.Errorf("billing_events_select: bad next key %q: %w", page.Next.Created, err)
		}
		afterCreated, afterID = at, page.Next.ID
	}
}

// textArray is a Postgres text[] literal ({"a","b"}): both data paths pass
// it as text that the function's parameter type reads (PostgREST hands
// arguments over as text, not JSON arrays). nil stays NULL.
func textArray(items []string) any {
	if items == nil {
		return nil
	}
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}
