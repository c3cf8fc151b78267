package mail_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/mail"
)

// near reports whether d is within a few seconds of want.
func near(d, want time.Duration) bool {
	return d > want-5*time.Second && d < want+5*time.Second
}

// TestFailTwiceThenSucceed is issue 6's Done-when: a SendGrid stand-in
// failing twice, then succeeding, leads to one send; over both data paths.
func TestFailTwiceThenSucceed(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t)
			sg := newSendGrid(t, func(n int, _ sgMessage) (int, string) {
				if n < 2 {
					return http.StatusInternalServerError, `{"errors":[{"message":"internal error"}]}`
				}
				return http.StatusAccepted, ""
			})
			sender := mail.New(senderConfig(sg), caller(t, db, path), nil)
			ctx := context.Background()
			user := db.CreateUser(t, "retry@example.com")
			id := insertRow(t, db, user, "welcome", "en", `{"plan": "standard"}`)

			rep, err := sender.SendIDs(ctx, []int64{id})
			if err != nil {
				t.Fatal(err)
			}
			wantReport(t, rep, mail.Report{Failed: 1})
			st := state(t, db, id)
			if st.Status != "pending" || st.Attempts != 1 || !near(st.NextIn, time.Minute) ||
				!strings.Contains(st.LastError, "HTTP 500: internal error") {
				t.Fatalf("after the first failure: %+v", st)
			}

			// Not due yet: nothing is sent.
			rep, err = sender.SendDue(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			wantReport(t, rep, mail.Report{})

			makeDue(t, db, id)
			if rep, err = sender.SendDue(ctx, 10); err != nil {
				t.Fatal(err)
			}
			wantReport(t, rep, mail.Report{Failed: 1})
			if st = state(t, db, id); st.Status != "pending" || st.Attempts != 2 || !near(st.NextIn, 2*time.Minute) {
				t.Fatalf("after the second failure: %+v", st)
			}

			makeDue(t, db, id)
			if rep, err = sender.SendDue(ctx, 10); err != nil {
				t.Fatal(err)
			}
			wantReport(t, rep, mail.Report{Sent: 1})
			if st = state(t, db, id); st.Status != "sent" || st.Attempts != 3 || !st.Sent {
				t.Fatalf("after the success: %+v", st)
			}
			if n, ok := len(sg.Requests()), len(sg.Accepted()); n != 3 || ok != 1 {
				t.Errorf("requests = %d, accepted = %d; want 3 and 1", n, ok)
			}
			for _, m := range sg.Requests() {
				if m.OutboxID() != id || m.To() != "retry@example.com" {
					t.Errorf("request for row %d to %q", m.OutboxID(), m.To())
				}
			}

			makeDue(t, db, id)
			if rep, err = sender.SendDue(ctx, 10); err != nil {
				t.Fatal(err)
			}
			wantReport(t, rep, mail.Report{})
			if len(sg.Accepted()) != 1 {
				t.Errorf("a sent row was sent again")
			}
		})
	}
}

// TestPermanentFailureGivesUp is issue 6's Done-when: a permanently failing
// address stops after the retry limit. SendGrid's error text (which here
// echoes the address) is kept without the address.
func TestPermanentFailureGivesUp(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	const addr = "bounce@example.com"
	sg := newSendGrid(t, func(int, sgMessage) (int, string) {
		return http.StatusBadRequest,
			`{"errors":[{"message":"Does not contain a valid address: ` + addr + `","field":"personalizations.0.to.0.email","help":null}]}`
	})
	cfg := senderConfig(sg)
	cfg.MaxAttempts = 3
	logger, logs := jsonLogger()
	sender := mail.New(cfg, caller(t, db, "pgx"), logger)
	ctx := context.Background()
	id := insertRow(t, db, db.CreateUser(t, addr), "payment_failed", "en", `{}`)

	rep, err := sender.SendIDs(ctx, []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	wantReport(t, rep, mail.Report{Failed: 1})
	for attempt := 2; attempt <= 3; attempt++ {
		makeDue(t, db, id)
		if rep, err = sender.SendDue(ctx, 10); err != nil {
			t.Fatal(err)
		}
		want := mail.Report{Failed: 1}
		if attempt == 3 {
			want = mail.Report{GaveUp: 1}
		}
		wantReport(t, rep, want)
	}
	st := state(t, db, id)
	if st.Status != "gave_up" || st.Attempts != 3 || st.Sent {
		t.Fatalf("row = %+v, want gave_up after 3 attempts", st)
	}
	wantErr := "sendgrid: HTTP 400: Does not contain a valid address: [address] (personalizations.0.to.0.email)"
	if st.LastError != wantErr {
		t.Errorf("last_error = %q, want %q", st.LastError, wantErr)
	}
	for range 2 {
		makeDue(t, db, id)
		if rep, err = sender.SendDue(ctx, 10); err != nil {
			t.Fatal(err)
		}
		wantReport(t, rep, mail.Report{})
	}
	if n := len(sg.Requests()); n != 3 {
		t.Errorf("requests = %d, want 3", n)
	}
	if strings.Contains(logs.String(), addr) {
		t.Errorf("the log holds the address:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `"msg":"email gave up"`) {
		t.Errorf("no log line for giving up:\n%s", logs)
	}
}

// TestAnswers maps SendGrid's answers to outcomes: 2xx sent; 429, 5xx,
// other 4xx and no answer are failures that stay pending for a retry.
func TestAnswers(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	tests := []struct {
		name      string
		status    int
		closed    bool // the server is down
		want      mail.Report
		wantState string
		wantError string
	}{
		{name: "202 accepted", status: 202, want: mail.Report{Sent: 1}, wantState: "sent"},
		{name: "200 ok", status: 200, want: mail.Report{Sent: 1}, wantState: "sent"},
		{name: "429 rate limited", status: 429, want: mail.Report{Failed: 1}, wantState: "pending", wantError: "HTTP 429"},
		{name: "503", status: 503, want: mail.Report{Failed: 1}, wantState: "pending", wantError: "HTTP 503"},
		{name: "401 bad key", status: 401, want: mail.Report{Failed: 1}, wantState: "pending", wantError: "HTTP 401: bad key"},
		{name: "no answer", closed: true, want: mail.Report{Failed: 1}, wantState: "pending", wantError: "sendgrid: no answer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sg := newSendGrid(t, func(int, sgMessage) (int, string) {
				return tc.status, `{"errors":[{"message":"bad key"}]}`
			})
			if tc.closed {
				sg.Close()
			}
			sender := mail.New(senderConfig(sg), caller(t, db, "pgx"), nil)
			id := insertRow(t, db, db.CreateUser(t, strings.ReplaceAll(tc.name, " ", "")+"@example.com"), "welcome", "", `{}`)
			rep, err := sender.SendIDs(context.Background(), []int64{id})
			if err != nil {
				t.Fatal(err)
			}
			wantReport(t, rep, tc.want)
			st := state(t, db, id)
			if st.Status != tc.wantState || !strings.Contains(st.LastError, tc.wantError) {
				t.Errorf("row = %+v, want %s with error %q", st, tc.wantState, tc.wantError)
			}
		})
	}
}

// TestConcurrentSendersNeverSendTwice runs several SendDue and SendIDs
// calls at once over the same rows.
func TestConcurrentSendersNeverSendTwice(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	sg := newSendGrid(t, nil)
	sg.delay = 2 * time.Millisecond
	const rows = 40
	var ids []int64
	for i := range rows {
		ids = append(ids, insertRow(t, db, db.CreateUser(t, fmt.Sprintf("c%d@example.com", i)), "welcome", "en", `{}`))
	}
	ctx := context.Background()
	var mu sync.Mutex
	var total mail.Report
	var wg sync.WaitGroup
	for i := range 6 {
		sender := mail.New(senderConfig(sg), caller(t, db, "pgx"), nil)
		wg.Go(func() {
			var rep mail.Report
			var err error
			if i%3 == 2 {
				rep, err = sender.SendIDs(ctx, ids)
			} else {
				rep, err = sender.SendDue(ctx, rows)
			}
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total.Add(rep)
			mu.Unlock()
		})
	}
	wg.Wait()
	wantReport(t, total, mail.Report{Sent: rows})
	seen := map[int64]int{}
	for _, m := range sg.Requests() {
		seen[m.OutboxID()]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("row %d sent %d times", id, seen[id])
		}
		if st := state(t, db, id); st.Status != "sent" || st.Attempts != 1 {
			t.Errorf("row %d = %+v", id, st)
		}
	}
}

func TestSendIDsOfASentRowSendsNothing(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	sg := newSendGrid(t, nil)
	sender := mail.New(senderConfig(sg), caller(t, db, "rest"), nil)
	ctx := context.Background()
	id := insertRow(t, db, db.CreateUser(t, "once@example.com"), "subscription_ended", "en", `{}`)
	rep, err := sender.SendIDs(ctx, []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	wantReport(t, rep, mail.Report{Sent: 1})
	makeDue(t, db, id)
	for range 2 {
		if rep, err = sender.SendIDs(ctx, []int64{id}); err != nil {
			t.Fatal(err)
		}
		wantReport(t, rep, mail.Report{})
	}
	if rep, err = sender.SendIDs(ctx, nil); err != nil {
		t.Fatal(err)
	}
	wantReport(t, rep, mail.Report{})
	if n := len(sg.Requests()); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
	if st := state(t, db, id); st.Status != "sent" || st.Attempts != 1 {
		t.Errorf("row = %+v", st)
	}
}
