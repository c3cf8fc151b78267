package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/ops"
)

func runReplay(ctx context.Context, args []string) error {
	return replayCmd(ctx, args, os.Stdout, os.Stderr)
}

// replayCmd is `billing replay [-id evt_..]... [-type T]... [-since T] [-until T] [-failed] [-json] [-dev]`:
// it re-applies stored events (stripe_events) through the webhook's own
// processing. An event that failed is applied as a first delivery would be;
// one already processed changes nothing.
func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ids, types listFlag
	fs.Var(&ids, "id", "event ID (repeatable, or comma separated)")
	fs.Var(&types, "type", "event type, e.g. customer.subscription.updated (repeatable)")
	since := fs.String("since", "", "events created at or after this time (RFC 3339 or YYYY-MM-DD, UTC)")
	until := fs.String("until", "", "events created before this time (RFC 3339 or YYYY-MM-DD, UTC)")
	failed := fs.Bool("failed", false, "only events whose processing failed")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	dev := devFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	sel := ops.Selection{IDs: ids, Types: types, Failed: *failed}
	var err error
	if sel.Since, err = parseWhen("-since", *since); err != nil {
		return err
	}
	if sel.Until, err = parseWhen("-until", *until); err != nil {
		return err
	}
	if err := sel.Validate(); err != nil {
		return err
	}
	if *dev {
		applyDevEnv()
	}
	deps, err := opsDeps(ctx, webhook.ProcessorNeeds, stderr)
	if err != nil {
		return err
	}
	defer deps.Close()
	p := webhook.ProcessorFromDeps(deps)
	rep, err := ops.Replay(ctx, deps.Store, p, sel, func(done int, ev ops.ReplayedEvent) {
		fmt.Fprintf(stderr, "replay: %d: %s %s: %s -> %s\n", done, ev.ID, ev.Type, ev.Before, ev.Result)
	})
	if rep != nil {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			printReplay(stdout, rep)
		}
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("%d event(s) failed, %d not found", rep.Counts["failed"], rep.Counts["not_found"])
	}
	return nil
}

func printReplay(w io.Writer, rep *ops.ReplayReport) {
	for _, e := range rep.Events {
		if e.Error != "" {
			fmt.Fprintf(w, "%s %s: %s: %s\n", e.ID, dash(e.Type), e.Result, e.Error)
		}
	}
	fmt.Fprintf(w, "replayed %d event(s): processed %d, ignored %d, already applied (no change) %d, other mode %d, failed %d, not found %d\n",
		rep.Selected, rep.Counts["processed"], rep.Counts["ignored"], rep.Counts["duplicate"],
		rep.Counts[webhook.StatusOtherMode], rep.Counts["failed"], rep.Counts["not_found"])
}

// parseWhen reads an RFC 3339 time or a UTC date; "" is the zero time.
func parseWhen(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s must be an RFC 3339 time (2026-11-20T09:00:00Z) or a date (2026-11-20), got %q", name, s)
}
