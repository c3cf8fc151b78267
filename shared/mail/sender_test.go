package mail_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/config"
	"billing/shared/mail"
	"billing/shared/store"
)

// TestNoKeyLogs: without an API key each email is logged in one line
// without the address, marked 'logged', and nothing is sent.
func TestNoKeyLogs(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	sg := newSendGrid(t, nil)
	cfg := senderConfig(sg)
	cfg.APIKey = ""
	logger, logs := jsonLogger()
	sender := mail.New(cfg, caller(t, db, "pgx"), logger)
	const addr = "quiet@example.com"
	user := db.CreateUser(t, addr)
	id := insertRow(t, db, user, "cancellation_scheduled", "ja", fullData)

	rep, err := sender.SendIDs(context.Background(), []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	wantReport(t, rep, mail.Report{Logged: 1})
	if st := state(t, db, id); st.Status != "logged" || !st.Sent || st.Attempts != 1 {
		t.Errorf("row = %+v, want logged", st)
	}
	if sg.calls.Load() != 0 {
		t.Errorf("SendGrid was called without a key")
	}
	out := logs.String()
	if strings.Contains(out, addr) || strings.Contains(out, "quiet") {
		t.Errorf("the log holds the address:\n%s", out)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 1 {
		t.Fatalf("log lines = %d, want 1:\n%s", len(lines), out)
	}
	l := lines[0]
	if l["outbox_id"] != float64(id) || l["user_id"] != user || l["kind"] != "cancellation_scheduled" || l["locale"] != "ja" {
		t.Errorf("log line = %v", l)
	}
	for _, k := range []string{"email", "to", "subject", "body", "text"} {
		if _, ok := l[k]; ok {
			t.Errorf("log line has %q: %v", k, l)
		}
	}
}

// TestUserWithoutAddress: a row whose user is gone or has no address gives
// up without a send; a hard-deleted user's rows go with the user.
func TestUserWithoutAddress(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	sg := newSendGrid(t, nil)
	sender := mail.New(senderConfig(sg), caller(t, db, "pgx"), nil)
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T) int64
		gone  bool // the row itself is deleted
	}{
		{"soft-deleted user", func(t *testing.T) int64 {
			u := db.CreateUser(t, "soft@example.com")
			id := insertRow(t, db, u, "welcome", "en", `{}`)
			db.MustExec(t, `update auth.users set deleted_at = now() where id = $1`, u)
			return id
		}, false},
		{"user without email", func(t *testing.T) int64 {
			return insertRow(t, db, db.CreateUser(t, ""), "welcome", "en", `{}`)
		}, false},
		{"row without user", func(t *testing.T) int64 {
			return insertRow(t, db, "", "welcome", "en", `{}`)
		}, false},
		{"deleted user", func(t *testing.T) int64 {
			u := db.CreateUser(t, "hard@example.com")
			id := insertRow(t, db, u, "welcome", "en", `{}`)
			db.MustExec(t, `delete from auth.users where id = $1`, u)
			return id
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.setup(t)
			rep, err := sender.SendIDs(ctx, []int64{id})
			if err != nil {
				t.Fatal(err)
			}
			if tc.gone {
				wantReport(t, rep, mail.Report{})
				var n int
				_ = db.Pool.QueryRow(ctx, `select count(*) from public.email_outbox where id = $1`, id).Scan(&n)
				if n != 0 {
					t.Errorf("the deleted user's row is still there")
				}
				return
			}
			wantReport(t, rep, mail.Report{GaveUp: 1})
			if st := state(t, db, id); st.Status != "gave_up" || st.Attempts != 1 || st.LastError != "no email address for the user" {
				t.Errorf("row = %+v", st)
			}
		})
	}
	if n := sg.calls.Load(); n != 0 {
		t.Errorf("SendGrid calls = %d, want 0", n)
	}
}

// TestNewFromConfig builds the sender from the environment as a function does.
func TestNewFromConfig(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	sg := newSendGrid(t, nil)
	env := map[string]string{
		"DATABASE_URL": db.URL, "SENDGRID_API_KEY": sgKey, "SENDGRID_API_BASE": sg.URL + "/",
		"EMAIL_FROM": fromAddr, "EMAIL_FROM_NAME": fromName, "EMAIL_LOCALE": "ja",
		"SITE_URL": siteURL, "SENDGRID_TEMPLATE_WELCOME": "d-welcome",
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, config.NeedEmail|config.NeedDatabase)
	if err != nil {
		t.Fatal(err)
	}
	sender := mail.NewFromConfig(cfg, store.New(caller(t, db, "pgx")), nil)
	user := db.CreateUser(t, "env@example.com")
	welcome := insertRow(t, db, user, "welcome", "", `{}`)
	ended := insertRow(t, db, user, "subscription_ended", "", `{}`)
	rep, err := sender.SendIDs(context.Background(), []int64{welcome, ended})
	if err != nil {
		t.Fatal(err)
	}
	wantReport(t, rep, mail.Report{Sent: 2})
	for _, m := range sg.Requests() {
		switch m.OutboxID() {
		case welcome:
			if m.TemplateID != "d-welcome" || m.Personalizations[0].DynamicTemplateData["portal_url"] != siteURL+"/account" {
				t.Errorf("welcome = %+v", m)
			}
		case ended:
			if !hasJapanese(m.Subject) || !strings.Contains(m.Body("text/plain"), siteURL+"/account") {
				t.Errorf("EMAIL_LOCALE=ja not used: %q", m.Subject)
			}
		}
	}
}

// TestCancelledContext: when the caller's context ends during a batch, the
// outcome of the email in flight is still recorded and the rest of the
// batch is left for later (its lease runs out).
func TestCancelledContext(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sg := newSendGrid(t, func(int, sgMessage) (int, string) {
		cancel()
		time.Sleep(20 * time.Millisecond)
		return 202, ""
	})
	sender := mail.New(senderConfig(sg), caller(t, db, "pgx"), nil)
	user := db.CreateUser(t, "cancel@example.com")
	first := insertRow(t, db, user, "welcome", "en", `{}`)
	second := insertRow(t, db, user, "payment_failed", "en", `{}`)

	rep, err := sender.SendIDs(ctx, []int64{first, second})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep.Total() != 1 || len(sg.Requests()) != 1 || sg.Requests()[0].OutboxID() != first {
		t.Fatalf("report = %+v, requests = %d: want only the first row handled", rep, len(sg.Requests()))
	}
	// The first row's outcome is recorded: sent, or (when the client saw the
	// cancellation before the answer) failed with the first backoff, not
	// still hidden under its 10 minute lease.
	st := state(t, db, first)
	if !(st.Status == "sent" && rep.Sent == 1) && !(st.Status == "pending" && rep.Failed == 1 && near(st.NextIn, time.Minute)) {
		t.Errorf("first row = %+v, report = %+v", st, rep)
	}
	if st := state(t, db, second); st.Status != "pending" || st.Attempts != 1 || !near(st.NextIn, mail.DefaultLease) {
		t.Errorf("second row = %+v, want pending under its lease", st)
	}
}

// TestUnknownKindGivesUp: a kind without a built-in email or template is
// not retried (it can never be sent), and SendGrid is not called.
func TestUnknownKindGivesUp(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	sg := newSendGrid(t, nil)
	sender := mail.New(senderConfig(sg), caller(t, db, "pgx"), nil)
	id := insertRow(t, db, db.CreateUser(t, "kind@example.com"), "invoice_upcoming", "en", `{}`)
	bad := insertRow(t, db, db.CreateUser(t, "data@example.com"), "welcome", "en", `[1, 2]`)
	rep, err := sender.SendIDs(context.Background(), []int64{id, bad})
	if err != nil {
		t.Fatal(err)
	}
	wantReport(t, rep, mail.Report{GaveUp: 2})
	if st := state(t, db, id); st.Status != "gave_up" || !strings.Contains(st.LastError, `no built-in email for kind "invoice_upcoming"`) {
		t.Errorf("unknown kind row = %+v", st)
	}
	if st := state(t, db, bad); st.Status != "gave_up" || !strings.Contains(st.LastError, "template_data") {
		t.Errorf("bad template_data row = %+v", st)
	}
	if n := sg.calls.Load(); n != 0 {
		t.Errorf("SendGrid calls = %d, want 0", n)
	}
}
