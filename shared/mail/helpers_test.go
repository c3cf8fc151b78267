package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"billing/internal/storetest"
	"billing/internal/testdb"
	"billing/shared/mail"
	"billing/shared/store"
)

const (
	sgKey    = "SG.test-key.with-a-secret-part"
	fromAddr = "billing@app.example"
	fromName = "Example App"
	siteURL  = "https://app.example"
	// serviceKey is the REST path's service key; JWT-shaped so that the
	// stand-in checks the Authorization header too.
	serviceKey = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl"
)

// sgEmail is an address in a SendGrid request.
type sgEmail struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// sgMessage is a v3 Mail Send body as the stand-in accepts it: any other
// field is an error.
type sgMessage struct {
	Personalizations []struct {
		To                  []sgEmail      `json:"to"`
		DynamicTemplateData map[string]any `json:"dynamic_template_data"`
	} `json:"personalizations"`
	From    sgEmail `json:"from"`
	Subject string  `json:"subject"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
	TemplateID string            `json:"template_id"`
	Categories []string          `json:"categories"`
	CustomArgs map[string]string `json:"custom_args"`
}

// To is the message's single recipient.
func (m sgMessage) To() string { return m.Personalizations[0].To[0].Email }

// OutboxID is the outbox row ID from custom_args.
func (m sgMessage) OutboxID() int64 {
	id, _ := strconv.ParseInt(m.CustomArgs["outbox_id"], 10, 64)
	return id
}

// Body returns the content of type typ ("text/plain", "text/html").
func (m sgMessage) Body(typ string) string {
	for _, c := range m.Content {
		if c.Type == typ {
			return c.Value
		}
	}
	return ""
}

// sendGrid is an httptest stand-in for SendGrid's v3 Mail Send endpoint.
// It checks each request exactly and answers with respond (202 by default).
type sendGrid struct {
	*httptest.Server
	t        testing.TB
	mu       sync.Mutex
	requests []sgMessage // every well-formed request, in order
	accepted []sgMessage // those answered with 2xx
	respond  func(n int, m sgMessage) (int, string)
	delay    time.Duration
	calls    atomic.Int64
}

func newSendGrid(t testing.TB, respond func(n int, m sgMessage) (int, string)) *sendGrid {
	t.Helper()
	s := &sendGrid{t: t, respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *sendGrid) serve(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	bad := func(format string, args ...any) {
		s.t.Errorf("sendgrid stand-in: "+format, args...)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"errors":[{"message":%q}]}`, fmt.Sprintf(format, args...))
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" || r.URL.RawQuery != "" {
		bad("request %s %s, want POST /v3/mail/send", r.Method, r.URL)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+sgKey {
		bad("Authorization = %q", got)
		return
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		bad("Content-Type = %q", got)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m sgMessage
	if err := dec.Decode(&m); err != nil {
		bad("body: %v: %s", err, raw)
		return
	}
	if msg := checkMessage(m); msg != "" {
		bad("%s: %s", msg, raw)
		return
	}
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, m)
	s.mu.Unlock()
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	status, body := http.StatusAccepted, ""
	if s.respond != nil {
		status, body = s.respond(n, m)
	}
	if status/100 == 2 {
		s.mu.Lock()
		s.accepted = append(s.accepted, m)
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// checkMessage returns what is wrong with a Mail Send body, or "".
func checkMessage(m sgMessage) string {
	switch {
	case len(m.Personalizations) != 1 || len(m.Personalizations[0].To) != 1 || m.To() == "":
		return "want exactly one personalization with one recipient"
	case m.From.Email != fromAddr || m.From.Name != fromName:
		return "from is not the configured sender"
	case m.OutboxID() <= 0 || len(m.CustomArgs) != 2 || m.CustomArgs["kind"] == "":
		return "custom_args must be {outbox_id, kind}"
	case !slices.Equal(m.Categories, []string{m.CustomArgs["kind"]}):
		return "categories must be [kind]"
	}
	if m.TemplateID != "" {
		if m.Subject != "" || len(m.Content) != 0 || m.Personalizations[0].DynamicTemplateData == nil {
			return "a template message has dynamic_template_data and no subject or content"
		}
		return ""
	}
	if m.Subject == "" || len(m.Content) != 2 || m.Content[0].Type != "text/plain" ||
		m.Content[1].Type != "text/html" || m.Content[0].Value == "" || m.Content[1].Value == "" {
		return "want a subject and text/plain then text/html content"
	}
	if m.Personalizations[0].DynamicTemplateData != nil {
		return "dynamic_template_data without a template_id"
	}
	return ""
}

// Requests returns the well-formed requests so far.
func (s *sendGrid) Requests() []sgMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Accepted returns the requests answered with 2xx so far.
func (s *sendGrid) Accepted() []sgMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.accepted)
}

// caller opens the data path named path ("pgx" or "rest") to db.
func caller(t testing.TB, db *testdb.DB, path string) store.Caller {
	t.Helper()
	switch path {
	case "pgx":
		pg, err := store.OpenPG(context.Background(), db.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pg.Close)
		return pg
	case "rest":
		rest := storetest.NewREST(t, db, serviceKey)
		return store.NewREST(rest.URL, serviceKey, rest.Client())
	}
	t.Fatalf("unknown data path %q", path)
	return nil
}

// senderConfig is a sender configuration that sends to sg.
func senderConfig(sg *sendGrid) mail.Config {
	return mail.Config{APIKey: sgKey, APIBase: sg.URL, From: fromAddr, FromName: fromName,
		Locale: "en", SiteURL: siteURL, MaxAttempts: 8}
}

var eventSeq atomic.Int64

// insertRow writes an outbox row as the webhook does and returns its ID.
// locale "" is stored as null.
func insertRow(t testing.TB, db *testdb.DB, userID, kind, locale, data string) int64 {
	t.Helper()
	var id int64
	var loc, uid any
	if locale != "" {
		loc = locale
	}
	if userID != "" {
		uid = userID
	}
	err := db.Pool.QueryRow(context.Background(), `
		insert into public.email_outbox (event_id, kind, user_id, locale, template_data)
		values ($1, $2, $3, $4, $5::jsonb) returning id`,
		fmt.Sprintf("evt_test_%d", eventSeq.Add(1)), kind, uid, loc, data).Scan(&id)
	if err != nil {
		t.Fatalf("insert outbox row: %v", err)
	}
	return id
}

// rowState is an outbox row as the tests look at it.
type rowState struct {
	Status    string
	Attempts  int
	LastError string
	NextIn    time.Duration // next_attempt_at - now()
	Sent      bool          // sent_at is set
}

func state(t testing.TB, db *testdb.DB, id int64) rowState {
	t.Helper()
	var s rowState
	var secs float64
	err := db.Pool.QueryRow(context.Background(), `
		select status, attempts, coalesce(last_error, ''),
		       extract(epoch from next_attempt_at - now())::float8, sent_at is not null
		from public.email_outbox where id = $1`, id).
		Scan(&s.Status, &s.Attempts, &s.LastError, &secs, &s.Sent)
	if err != nil {
		t.Fatalf("outbox row %d: %v", id, err)
	}
	s.NextIn = time.Duration(secs * float64(time.Second))
	return s
}

// makeDue moves the rows' next attempt into the past, as if time had passed.
func makeDue(t testing.TB, db *testdb.DB, ids ...int64) {
	t.Helper()
	db.MustExec(t, `update public.email_outbox set next_attempt_at = now() - interval '1 second' where id = any($1)`, ids)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// jsonLogger logs JSON lines into a buffer the test can read.
func jsonLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func wantReport(t testing.TB, got, want mail.Report) {
	t.Helper()
	if got != want {
		t.Errorf("report = %+v, want %+v", got, want)
	}
}
