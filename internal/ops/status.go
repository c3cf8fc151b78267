package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"billing/shared/access"
	"billing/shared/plans"
	"billing/shared/store"
)

// UserStatus is one user's billing state for an operator: the access body
// check-subscription would answer now, and the history behind it
// (billing_ops_user_status). It holds no email address.
type UserStatus struct {
	Access access.Result `json:"access"`
	// Concurrent lists, best first, the subscriptions that grant access
	// now when there is more than one (a second live subscription: the
	// first one counts; refund or cancel the others); else empty.
	Concurrent []string `json:"concurrent_subscriptions"`
	History    History  `json:"history"`
}

// History is billing_ops_user_status's answer.
type History struct {
	UserID           string          `json:"user_id"`
	Exists           bool            `json:"exists"`
	StripeCustomerID *string         `json:"stripe_customer_id"`
	Profile          json.RawMessage `json:"profile"`
	Subscriptions    []struct {
		ID                string  `json:"id"`
		CustomerID        string  `json:"customer_id"`
		UserID            *string `json:"user_id"`
		Status            string  `json:"status"`
		Plan              *string `json:"plan"`
		PriceID           *string `json:"price_id"`
		CancelAtPeriodEnd bool    `json:"cancel_at_period_end"`
		CurrentPeriodEnd  *string `json:"current_period_end"`
		CancelAt          *string `json:"cancel_at"`
		CanceledAt        *string `json:"canceled_at"`
		Created           *string `json:"created"`
		StateAt           *string `json:"state_at"`
		UpdatedAt         *string `json:"updated_at"`
	} `json:"subscriptions"`
	Events []struct {
		ID         string  `json:"id"`
		Type       string  `json:"type"`
		Status     string  `json:"status"`
		Error      *string `json:"error"`
		Attempts   int     `json:"attempts"`
		Created    *string `json:"created"`
		ReceivedAt *string `json:"received_at"`
	} `json:"events"`
	Emails []struct {
		ID            int64   `json:"id"`
		Kind          string  `json:"kind"`
		Status        string  `json:"status"`
		Attempts      int     `json:"attempts"`
		LastError     *string `json:"last_error"`
		NextAttemptAt *string `json:"next_attempt_at"`
		CreatedAt     *string `json:"created_at"`
		SentAt        *string `json:"sent_at"`
	} `json:"emails"`
	Sync *struct {
		LastSyncAt *string `json:"last_sync_at"`
		Syncs      int64   `json:"syncs"`
	} `json:"sync"`
}

// Status reads one user's status: the access rules over their stored
// subscriptions at now, and their history.
func Status(ctx context.Context, st *store.Store, cat *plans.Catalog, userID string, now time.Time) (*UserStatus, error) {
	state, err := st.UserState(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := &UserStatus{Access: access.Compute(state.AccessSubscriptions(), cat, now), Concurrent: []string{}}
	if g := access.Granting(state.AccessSubscriptions(), cat, now); len(g) > 1 {
		out.Concurrent = g
	}
	err = st.Call(ctx, "billing_ops_user_status", []store.Arg{
		{Name: "p_user_id", Value: userID}, {Name: "p_event_limit", Value: 20}}, &out.History)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteText prints the status for a terminal: the access body as JSON, then
// the subscriptions, the recent Stripe events and the emails as tables.
func (s *UserStatus) WriteText(w io.Writer) error {
	h := s.History
	body, err := json.MarshalIndent(s.Access, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "user %s", h.UserID)
	if !h.Exists {
		fmt.Fprint(w, " (not in auth.users)")
	}
	fmt.Fprintf(w, "\nstripe customer: %s\n", str(h.StripeCustomerID))
	if h.Sync != nil {
		fmt.Fprintf(w, "last success-page sync: %s (%d in all)\n", str(h.Sync.LastSyncAt), h.Sync.Syncs)
	}
	if len(s.Concurrent) > 1 {
		fmt.Fprintf(w, "\nWARNING: %d subscriptions grant access now: %s. %s counts; refund or cancel the others.\n",
			len(s.Concurrent), strings.Join(s.Concurrent, ", "), s.Concurrent[0])
	}
	fmt.Fprintf(w, "\naccess now (the check-subscription body):\n%s\n", body)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nsubscriptions (newest first): %d\n", len(h.Subscriptions))
	if len(h.Subscriptions) > 0 {
		fmt.Fprintln(tw, "ID\tSTATUS\tPLAN\tPERIOD END\tCANCEL AT END\tCANCEL AT\tCREATED\tSTATE AT\tCUSTOMER\tLINKED")
	}
	for _, r := range h.Subscriptions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%s\t%s\t%s\t%v\n", r.ID, r.Status, str(r.Plan), str(r.CurrentPeriodEnd),
			r.CancelAtPeriodEnd, str(r.CancelAt), str(r.Created), str(r.StateAt), r.CustomerID, r.UserID != nil)
	}
	fmt.Fprintf(tw, "\nStripe events (newest first, at most 20): %d\n", len(h.Events))
	if len(h.Events) > 0 {
		fmt.Fprintln(tw, "ID\tTYPE\tSTATUS\tATTEMPTS\tCREATED\tRECEIVED\tERROR")
	}
	for _, e := range h.Events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.ID, e.Type, e.Status, e.Attempts, str(e.Created),
			str(e.ReceivedAt), oneLine(str(e.Error), 80))
	}
	fmt.Fprintf(tw, "\nemails (newest first): %d\n", len(h.Emails))
	if len(h.Emails) > 0 {
		fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tATTEMPTS\tCREATED\tSENT\tNEXT ATTEMPT\tLAST ERROR")
	}
	for _, e := range h.Emails {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", e.ID, e.Kind, e.Status, e.Attempts, str(e.CreatedAt),
			str(e.SentAt), str(e.NextAttemptAt), oneLine(str(e.LastError), 60))
	}
	return tw.Flush()
}

func str(p *string) string {
	if p == nil || *p == "" {
		return "-"
	}
	return *p
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max-1] + "…"
	}
	return s
}
