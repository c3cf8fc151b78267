// Package reconcile is the reconcile-subscriptions function: it heals what
// lost webhooks left behind by reading the subscriptions' current state
// from Stripe and writing it through the same SQL path as the webhook
// (stripesync, billing_apply_event), so that a newer stored state is never
// overwritten by an older read.
//
// It has two callers on one URL. A signed-in user (the success page after
// Checkout) syncs only their own customer, at most once per
// UserSyncInterval (enforced in the database, so across instances), and gets
// the check-subscription body. The schedule (an EventBridge event, not an
// HTTP request) or an operator (Authorization: Bearer RECONCILE_TOKEN) runs
// Reconciler.Run over every subscription: list them all (status=all,
// paginated), compare with the database, apply the differences (or only
// report them in a dry run), send the outbox emails whose time has come, and
// report what changed. `billing reconcile` runs the same Run in-process.
package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"billing/shared/access"
	"billing/shared/mail"
	"billing/shared/plans"
	"billing/shared/store"
	"billing/shared/stripesync"
)

// Syncer is the one SQL path of subscription state (*stripesync.Syncer).
type Syncer interface {
	Resolve(raw []byte, stateAt time.Time, source string) (stripesync.State, error)
	ApplySubscription(ctx context.Context, raw []byte, stateAt time.Time, source string) (stripesync.ApplyResult, error)
	ApplyRead(ctx context.Context, raw []byte, readAt time.Time, read stripesync.SubscriptionReader) (stripesync.ApplyResult, error)
}

// Mailer sends outbox emails (*mail.Sender).
type Mailer interface {
	SendDue(ctx context.Context, limit int) (mail.Report, error)
	SendIDs(ctx context.Context, ids []int64) (mail.Report, error)
}

// Reconciler compares and syncs subscriptions between Stripe and the database.
type Reconciler struct {
	Stripe  Stripe
	Syncer  Syncer
	Store   *store.Store
	Catalog *plans.Catalog
	// Mail sends the due outbox emails after an applied run; nil skips it.
	Mail Mailer
	// Now is the clock of the access rules; nil means time.Now.
	Now func() time.Time
}

// Options choose what Run does.
type Options struct {
	// Apply writes the differences; false is a dry run that writes nothing.
	Apply bool
	// UserID limits the run to one user's customer(s); "" is everything.
	UserID string
	// SkipEmails leaves the outbox alone even when applying.
	SkipEmails bool
	// EmailLimit bounds the emails sent (mail.DefaultDueLimit when 0).
	EmailLimit int
	// Progress, when set, is called after each page of Stripe's list.
	Progress func(Progress)
}

// Progress is how far a run is.
type Progress struct {
	Checked int // subscriptions read from Stripe so far
	Changes int // differences found so far
}

// MaxMissingChecks bounds how many stored subscriptions that Stripe did not
// list are retrieved one by one; beyond it they are reported unchecked.
const MaxMissingChecks = 200

// Modes of a report.
const (
	ModeDryRun = "dry_run"
	ModeApply  = "apply"
)

// Report is what a run found and did. It names users by ID only.
type Report struct {
	Mode  string `json:"mode"`
	Scope string `json:"scope"`
	// Checked counts the subscriptions read from Stripe.
	Checked int `json:"checked"`
	// Changed counts the changes by kind (a change may have several kinds).
	Changed map[string]int `json:"changed"`
	Changes []Change       `json:"changes"`
	// Applied counts the subscriptions written; Stale those whose stored
	// state is newer than Stripe's answer (left as they are).
	Applied int `json:"applied"`
	Stale   int `json:"stale"`
	// AccessChanged lists the users whose plan or paid access changed (in
	// a dry run: would change).
	AccessChanged []string `json:"access_changed"`
	// Concurrent maps every user of the run's scope with more than one
	// subscription that grants access now (a second live subscription) to
	// those subscriptions, best first: the first counts; refund or cancel
	// the others. Logged at ERROR.
	Concurrent map[string][]string `json:"concurrent_subscriptions"`
	// Emails is what the outbox step did; nil when it did not run.
	Emails *mail.Report `json:"emails"`
	Errors []ItemError  `json:"errors"`

	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

// ItemError is one subscription that could not be compared or applied.
type ItemError struct {
	SubscriptionID string `json:"subscription_id,omitempty"`
	Error          string `json:"error"`
}

// OK reports whether the run had no errors.
func (r *Report) OK() bool { return len(r.Errors) == 0 }

// Run compares every subscription in Stripe (or one user's) with the
// database and, with opt.Apply, writes the differences and sends the due
// emails. The report is returned even with an error (what was done until
// then). A subscription that cannot be read or applied is an ItemError and
// the run goes on; a Stripe or database failure stops it.
func (r *Reconciler) Run(ctx context.Context, opt Options) (*Report, error) {
	now := r.now()
	rep := &Report{Mode: ModeDryRun, Scope: "all", Changed: map[string]int{}, Changes: []Change{},
		AccessChanged: []string{}, Concurrent: map[string][]string{}, Errors: []ItemError{}, StartedAt: now.UTC()}
	if opt.Apply {
		rep.Mode = ModeApply
	}
	run := &run{r: r, opt: opt, rep: rep, now: now, d: db{r.Store}, seen: map[string]bool{}, users: map[string]*userTrack{}}
	var err error
	if opt.Apply && opt.UserID == "" {
		// The catalog's limits, for the users without a subscription (every
		// apply stores them too, but a run may apply nothing).
		if _, err = stripesync.SyncCatalog(ctx, r.Store, r.Catalog); err != nil {
			rep.FinishedAt = r.now().UTC()
			return rep, fmt.Errorf("reconcile: plan catalog: %w", err)
		}
	}
	err = run.do(ctx)
	if err == nil {
		err = run.finishAccess(ctx)
	}
	if err == nil {
		err = r.Store.Call(ctx, "billing_concurrent_subscriptions", []store.Arg{
			{Name: "p_catalog", Value: stripesync.CatalogDocument(r.Catalog)},
			{Name: "p_user_id", Value: nilIfEmpty(opt.UserID)}}, &rep.Concurrent)
	}
	if err == nil && opt.Apply && !opt.SkipEmails && r.Mail != nil {
		er, mailErr := r.Mail.SendDue(ctx, opt.EmailLimit)
		rep.Emails = &er
		if mailErr != nil {
			err = fmt.Errorf("reconcile: outbox: %w", mailErr)
		}
	}
	slices.Sort(rep.AccessChanged)
	rep.FinishedAt = r.now().UTC()
	return rep, err
}

// nilIfEmpty is nil for "" (an SQL null), else s.
func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (r *Reconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// run is one Run's working state.
type run struct {
	r     *Reconciler
	opt   Options
	rep   *Report
	now   time.Time
	d     db
	seen  map[string]bool
	users map[string]*userTrack
}

// userTrack is one user whose subscriptions a change touches: their access
// before, and (dry run) their subscriptions as they would be.
type userTrack struct {
	before access.Result
	subs   []access.Subscription
}

func (u *run) do(ctx context.Context) error {
	r, opt := u.r, u.opt
	if opt.UserID == "" {
		if err := r.Stripe.ListSubscriptions(ctx, "", u.page(ctx)); err != nil {
			return err
		}
		var missing []Stored
		err := u.d.openStored(ctx, r.Catalog.Mode == plans.ModeLive, func(rows []Stored) error {
			for _, s := range rows {
				if !u.seen[s.ID] {
					missing = append(missing, s)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return u.checkMissing(ctx, missing)
	}

	u.rep.Scope = "user " + opt.UserID
	st, err := r.Store.UserState(ctx, opt.UserID)
	if err != nil {
		return err
	}
	// Only the deployment's own mode: the other mode's customers and
	// subscriptions are unknown to its Stripe key.
	subs := st.InMode(r.Catalog.Mode)
	customers := []string{}
	if st.StripeCustomerID != "" {
		customers = append(customers, st.StripeCustomerID)
	}
	for _, s := range subs {
		if !slices.Contains(customers, s.CustomerID) {
			customers = append(customers, s.CustomerID)
		}
	}
	for _, c := range customers {
		if err := r.Stripe.ListSubscriptions(ctx, c, u.page(ctx)); err != nil {
			return err
		}
	}
	var missing []Stored
	for _, s := range subs {
		if !u.seen[s.ID] && s.Status != access.StatusCanceled && s.Status != access.StatusIncompleteExpired {
			missing = append(missing, Stored{ID: s.ID, UserID: opt.UserID, OwnerID: opt.UserID, CustomerID: s.CustomerID,
				State: State{Status: s.Status, Plan: s.Plan, PriceID: s.PriceID, CancelAtPeriodEnd: s.CancelAtPeriodEnd,
					CurrentPeriodEnd: s.CurrentPeriodEnd, CancelAt: s.CancelAt, Created: s.Created}})
		}
	}
	return u.checkMissing(ctx, missing)
}

// page returns the function that handles one page of Stripe's list.
func (u *run) page(ctx context.Context) func(Page) error {
	return func(p Page) error {
		if err := u.compare(ctx, p); err != nil {
			return err
		}
		if u.opt.Progress != nil {
			u.opt.Progress(Progress{Checked: u.rep.Checked, Changes: len(u.rep.Changes)})
		}
		return nil
	}
}

// resolved is one subscription of a page, read and mapped to its plan.
type resolved struct {
	state stripesync.State
	raw   []byte
}

// compare diffs one page with the database and applies the differences.
func (u *run) compare(ctx context.Context, p Page) error {
	var subs []resolved
	var ids, customers []string
	for _, raw := range p.Subscriptions {
		u.rep.Checked++
		st, err := u.r.Syncer.Resolve(raw, p.StateAt, stripesync.SourceAPI)
		if err != nil {
			parsed, _ := stripesync.ParseSubscription(raw)
			u.seen[parsed.ID] = true
			u.rep.Errors = append(u.rep.Errors, ItemError{SubscriptionID: parsed.ID, Error: err.Error()})
			continue
		}
		u.seen[st.ID] = true
		subs = append(subs, resolved{st, raw})
		ids = append(ids, st.ID)
		if !slices.Contains(customers, st.CustomerID) {
			customers = append(customers, st.CustomerID)
		}
	}
	if len(subs) == 0 {
		return nil
	}
	stored, owners, err := u.d.byID(ctx, ids, customers)
	if err != nil {
		return err
	}
	if err := u.syncSchedules(ctx, subs); err != nil {
		return err
	}
	for _, s := range subs {
		var row *Stored
		if v, ok := stored[s.state.ID]; ok {
			row = &v
		}
		if row != nil && row.StateAt != nil && !p.StateAt.After(*row.StateAt) {
			// The stored state may be later than Stripe's read (p.StateAt is
			// a lower bound): billing_apply_event would not apply it either.
			u.rep.Stale++
			continue
		}
		// A price the catalog does not know: the stored plan is kept, or it
		// is an error when the state would grant access without one.
		var err error
		if row != nil {
			s.state, err = stripesync.CheckUnknownPrice(s.state, u.r.Catalog, true, row.Plan, row.PriceID)
		} else {
			s.state, err = stripesync.CheckUnknownPrice(s.state, u.r.Catalog, false, "", "")
		}
		if err != nil {
			u.rep.Errors = append(u.rep.Errors, ItemError{SubscriptionID: s.state.ID, Error: err.Error()})
			continue
		}
		kinds := diff(s.state, row)
		if len(kinds) == 0 {
			continue
		}
		owner := s.state.UserID
		if row != nil && row.OwnerID != "" {
			owner = row.OwnerID
		} else if o := owners[s.state.CustomerID]; o != "" {
			owner = o
		}
		c := Change{SubscriptionID: s.state.ID, CustomerID: s.state.CustomerID, UserID: owner, Kinds: kinds,
			Stripe: stateOf(s.state)}
		if row != nil {
			stored := row.State
			c.Stored = &stored
		}
		if err := u.track(ctx, owner, s.state.ID, c.Stripe); err != nil {
			return err
		}
		if u.opt.Apply {
			if err := u.apply(ctx, &c, s.raw, p.StateAt); err != nil {
				return err
			}
		}
		u.add(c)
	}
	return nil
}

// apply writes one changed subscription through stripesync.
func (u *run) apply(ctx context.Context, c *Change, raw []byte, stateAt time.Time) error {
	res, err := u.r.Syncer.ApplySubscription(ctx, raw, stateAt, stripesync.SourceAPI)
	switch {
	case err != nil && store.IsUnavailable(err):
		return err
	case err != nil:
		c.Result, c.Error = "error", err.Error()
		u.rep.Errors = append(u.rep.Errors, ItemError{SubscriptionID: c.SubscriptionID, Error: err.Error()})
	case res.Subscription == "stale":
		c.Result = "stale"
		u.rep.Stale++
	case res.NeedsFetch != "":
		c.Result, c.Error = "error", "the database asked for a fetch of "+res.NeedsFetch
		u.rep.Errors = append(u.rep.Errors, ItemError{SubscriptionID: c.SubscriptionID, Error: c.Error})
	default:
		c.Result = "applied"
		u.rep.Applied++
	}
	return nil
}

// add records a change in the report.
func (u *run) add(c Change) {
	for _, k := range c.Kinds {
		u.rep.Changed[k]++
	}
	u.rep.Changes = append(u.rep.Changes, c)
}

// checkMissing retrieves, one by one, the stored subscriptions that are not
// over and that Stripe's list did not include (a subscription created while
// the list was read is one): those Stripe knows are compared like any
// other; the others are reported and left alone.
func (u *run) checkMissing(ctx context.Context, missing []Stored) error {
	for i, s := range missing {
		if i >= MaxMissingChecks {
			st := s.State
			c := Change{SubscriptionID: s.ID, CustomerID: s.CustomerID, UserID: s.OwnerID, Kinds: []string{KindMissing},
				Stored: &st, Error: fmt.Sprintf("not retrieved: more than %d subscriptions were missing from the list", MaxMissingChecks)}
			u.add(c)
			continue
		}
		raw, at, err := u.r.Stripe.GetSubscription(ctx, s.ID)
		if errors.Is(err, ErrNotInStripe) {
			st := s.State
			c := Change{SubscriptionID: s.ID, CustomerID: s.CustomerID, UserID: s.OwnerID, Kinds: []string{KindMissing}, Stored: &st}
			if u.opt.Apply {
				c.Result = "left"
			}
			u.add(c)
			continue
		}
		if err != nil {
			return err
		}
		if err := u.compare(ctx, Page{Subscriptions: []json.RawMessage{raw}, StateAt: at}); err != nil {
			return err
		}
	}
	return nil
}
