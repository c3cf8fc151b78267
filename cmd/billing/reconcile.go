package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/shared/auth"
	"billing/shared/config"
)

// reconcileNeeds is the configuration `billing reconcile` reads: the
// function's, without the token verifier and the operator token.
const reconcileNeeds = config.NeedDatabase | config.NeedStripe | config.NeedPlans | config.NeedEmail

func runReconcile(ctx context.Context, args []string) error {
	return reconcileCmd(ctx, args, os.Stdout, os.Stderr)
}

// reconcileCmd is `billing reconcile [-apply] [-user UUID] [-emails auto|send|skip] [-json] [-dev]`:
// a dry run by default, which prints the differences between Stripe and the
// database; -apply writes them through stripesync and sends the due emails.
func reconcileCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apply := fs.Bool("apply", false, "write the differences (default: dry run, writes nothing)")
	user := fs.String("user", "", "only this user's Stripe customer (user UUID)")
	emails := fs.String("emails", "auto", "with -apply, send the due outbox emails: auto (only when SENDGRID_API_KEY is set), send, skip")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	dev := devFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *user != "" && !auth.IsUUID(*user) {
		return fmt.Errorf("-user must be a user ID (UUID), got %q", *user)
	}
	if *emails != "auto" && *emails != "send" && *emails != "skip" {
		return fmt.Errorf("-emails must be auto, send or skip")
	}
	if *dev {
		applyDevEnv()
	}
	deps, err := opsDeps(ctx, reconcileNeeds, stderr)
	if err != nil {
		return err
	}
	defer deps.Close()
	r := reconcile.NewReconciler(deps.Config, deps.Store, deps.Catalog, deps.Log)

	skipEmails := *emails == "skip" || (*emails == "auto" && deps.Config.SendGridAPIKey == "")
	if *apply && skipEmails && *emails == "auto" {
		fmt.Fprintln(stderr, "reconcile: no SENDGRID_API_KEY: the outbox is left for the deployed function (-emails send to log them here)")
	}
	mode := "dry run (nothing is written; -apply to write)"
	if *apply {
		mode = "apply"
	}
	fmt.Fprintf(stderr, "reconcile: %s, Stripe %s mode\n", mode, deps.Config.Mode)
	start := time.Now()
	rep, err := r.Run(ctx, reconcile.Options{Apply: *apply, UserID: strings.ToLower(*user), SkipEmails: skipEmails,
		Progress: func(p reconcile.Progress) {
			fmt.Fprintf(stderr, "reconcile: %d subscriptions checked so far, %d differences so far (%s)\n",
				p.Checked, p.Changes, time.Since(start).Round(time.Millisecond))
		}})
	if rep != nil {
		// The progress lines stop after Stripe's last page; the run then
		// also checks the stored subscriptions Stripe did not list. The
		// final line says what the report says.
		fmt.Fprintf(stderr, "reconcile: done: %d subscriptions checked, %d differences (%s)\n",
			rep.Checked, len(rep.Changes), time.Since(start).Round(time.Millisecond))
	}
	if rep != nil {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else if err := printReport(stdout, rep); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("%d subscription(s) could not be reconciled", len(rep.Errors))
	}
	return nil
}

// printReport writes the report for a terminal.
func printReport(w io.Writer, rep *reconcile.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(rep.Changes) > 0 {
		fmt.Fprintln(tw, "SUBSCRIPTION\tUSER\tDIFFERENCE\tDATABASE\tSTRIPE\tRESULT")
	}
	for _, c := range rep.Changes {
		result := c.Result
		if c.Error != "" {
			result += " " + c.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.SubscriptionID, dash(c.UserID), strings.Join(c.Kinds, ","),
			describe(c.Stored), describe(c.Stripe), dash(strings.TrimSpace(result)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var kinds []string
	for _, k := range reconcile.Kinds {
		if n := rep.Changed[k]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
	}
	fmt.Fprintf(w, "\n%s (%s): checked %d subscriptions, %d differences", rep.Mode, rep.Scope, rep.Checked, len(rep.Changes))
	if len(kinds) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(kinds, ", "))
	}
	fmt.Fprintf(w, "\n")
	verb := "would change"
	if rep.Mode == reconcile.ModeApply {
		verb = "changed"
		fmt.Fprintf(w, "applied %d, left as stored (newer in the database) %d\n", rep.Applied, rep.Stale)
	}
	fmt.Fprintf(w, "access %s for %d user(s)", verb, len(rep.AccessChanged))
	if len(rep.AccessChanged) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(rep.AccessChanged, ", "))
	}
	fmt.Fprintln(w)
	if rep.Emails != nil {
		fmt.Fprintf(w, "emails: sent %d, logged %d, failed (will retry) %d, gave up %d\n",
			rep.Emails.Sent, rep.Emails.Logged, rep.Emails.Failed, rep.Emails.GaveUp)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "error: %s: %s\n", dash(e.SubscriptionID), e.Error)
	}
	return nil
}

// describe is one compared state in a few words.
func describe(s *reconcile.State) string {
	if s == nil {
		return "-"
	}
	out := s.Status + " " + dash(s.Plan)
	if s.CurrentPeriodEnd != nil {
		out += " until " + s.CurrentPeriodEnd.UTC().Format("2006-01-02")
	}
	if s.CancelAtPeriodEnd {
		out += " (cancels at end)"
	}
	if s.CancelAt != nil {
		out += " (cancel_at " + s.CancelAt.UTC().Format("2006-01-02") + ")"
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
