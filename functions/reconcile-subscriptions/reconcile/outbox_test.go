package reconcile_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/shared/mail"
)

// sendGrid is a SendGrid stand-in that checks each request exactly and
// answers per recipient: fail the first failFirst[addr] sends with 500,
// always reject the addresses in bounce with 400, accept the rest with 202.
type sendGrid struct {
	t         *testing.T
	mu        sync.Mutex
	failFirst map[string]int
	bounce    map[string]bool
	requests  map[string]int
	accepted  map[string]int
}

func newSendGrid(t *testing.T) (*sendGrid, *httptest.Server) {
	s := &sendGrid{t: t, failFirst: map[string]int{}, bounce: map[string]bool{},
		requests: map[string]int{}, accepted: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *sendGrid) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" {
		s.t.Errorf("SendGrid stand-in: %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer SG.test-key" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.t.Errorf("SendGrid stand-in: headers %v", r.Header)
	}
	raw, _ := io.ReadAll(r.Body)
	var msg struct {
		From struct {
			Email string `json:"email"`
		} `json:"from"`
		Personalizations []struct {
			To []struct {
				Email string `json:"email"`
			} `json:"to"`
		} `json:"personalizations"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil || len(msg.Personalizations) != 1 || len(msg.Personalizations[0].To) != 1 {
		s.t.Errorf("SendGrid stand-in: body %s", raw)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if msg.From.Email != "billing@example.com" {
		s.t.Errorf("SendGrid stand-in: from %q", msg.From.Email)
	}
	to := msg.Personalizations[0].To[0].Email
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[to]++
	switch {
	case s.bounce[to]:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to.0.email"}]}`)
	case s.requests[to] <= s.failFirst[to]:
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"errors":[{"message":"internal error"}]}`)
	default:
		s.accepted[to]++
		w.WriteHeader(http.StatusAccepted)
	}
}

func (s *sendGrid) counts(addr string) (requests, accepted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[addr], s.accepted[addr]
}

// The outbox through reconcile runs: an email whose sends fail twice and
// then succeed is sent once; an address SendGrid always rejects stops after
// the retry limit (mail.DefaultMaxAttempts) and is never tried again.
func TestOutboxAcrossRuns(t *testing.T) {
	sg, srv := newSendGrid(t)
	side := &stripeSide{}
	e := start(t, "pgx", side, map[string]string{
		"SENDGRID_API_KEY": "SG.test-key", "SENDGRID_API_BASE": srv.URL, "EMAIL_FROM": "billing@example.com",
	})
	flaky := e.DB.CreateUser(t, "flaky@example.com")
	bounce := e.DB.CreateUser(t, "bounce@example.com")
	sg.failFirst["flaky@example.com"] = 2
	sg.bounce["bounce@example.com"] = true
	for _, u := range []string{flaky, bounce} {
		e.DB.MustExec(t, `insert into public.email_outbox (event_id, kind, user_id, locale, template_data, dedupe_key)
			values ('evt_test_'||$1::text, 'welcome', $1::uuid, 'en', '{"plan":"standard","plan_name":"Standard","subscription_id":"sub_x"}', 'welcome:'||$1::text)`, u)
	}
	r := reconcile.FromDeps(e.Deps).Reconciler
	ctx := context.Background()
	var total mail.Report
	for run := 1; run <= mail.DefaultMaxAttempts+1; run++ {
		rep, err := r.Run(ctx, reconcile.Options{Apply: true})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if rep.Emails == nil {
			t.Fatalf("run %d: the outbox step did not run", run)
		}
		total.Add(*rep.Emails)
		if run == mail.DefaultMaxAttempts+1 && rep.Emails.Total() != 0 {
			t.Fatalf("run %d handled %+v after every row was done", run, rep.Emails)
		}
		// Time passes: the backoff of the failed rows is over.
		e.DB.MustExec(t, `update public.email_outbox set next_attempt_at = now() where status = 'pending'`)
	}
	if req, ok := sg.counts("flaky@example.com"); req != 3 || ok != 1 {
		t.Errorf("flaky: %d requests, %d accepted; want 3 and exactly one send", req, ok)
	}
	if req, ok := sg.counts("bounce@example.com"); req != mail.DefaultMaxAttempts || ok != 0 {
		t.Errorf("bounce: %d requests, %d accepted; want %d and none", req, ok, mail.DefaultMaxAttempts)
	}
	if total.Sent != 1 || total.GaveUp != 1 || total.Failed != 2+mail.DefaultMaxAttempts-1 {
		t.Errorf("reports add up to %+v", total)
	}
	rows := map[string]struct {
		status   string
		attempts int
		err      *string
	}{}
	q, err := e.DB.Pool.Query(ctx, `select user_id::text, status, attempts, last_error from public.email_outbox`)
	if err != nil {
		t.Fatal(err)
	}
	for q.Next() {
		var u, st string
		var n int
		var le *string
		if err := q.Scan(&u, &st, &n, &le); err != nil {
			t.Fatal(err)
		}
		rows[u] = struct {
			status   string
			attempts int
			err      *string
		}{st, n, le}
	}
	if r := rows[flaky]; r.status != "sent" || r.attempts != 3 {
		t.Errorf("flaky row: %+v", r)
	}
	if r := rows[bounce]; r.status != "gave_up" || r.attempts != mail.DefaultMaxAttempts || r.err == nil ||
		!strings.Contains(*r.err, "400") || strings.Contains(*r.err, "bounce@example.com") {
		t.Errorf("bounce row: %+v", r)
	}
	if strings.Contains(e.Logs(), "flaky@example.com") || strings.Contains(e.Logs(), "bounce@example.com") {
		t.Error("an email address was logged")
	}
}
