package fault

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/stripetest/fntest"
	"billing/shared/mail"
)

// sendGrid is a SendGrid stand-in that fails while failing is set and
// counts the mails it accepted.
type sendGrid struct {
	*httptest.Server
	mu       sync.Mutex
	failing  bool
	accepted int
	refused  int
}

func newSendGrid(t *testing.T) *sendGrid {
	s := &sendGrid{failing: true}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" || r.Header.Get("Authorization") != "Bearer SG.fault-key" {
			t.Errorf("SendGrid request %s %s", r.Method, r.URL.Path)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.failing {
			s.refused++
			http.Error(w, `{"errors":[{"message":"service unavailable"}]}`, http.StatusServiceUnavailable)
			return
		}
		s.accepted++
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestSendGridFails: while SendGrid fails no webhook fails, and the email
// goes out later, once.
func TestSendGridFails(t *testing.T) {
	sg := newSendGrid(t)
	hook := fntest.Start(t, webhook.Spec, fntest.Options{Env: map[string]string{
		"STRIPE_WEBHOOK_SECRET": webhookSecret, "SENDGRID_API_KEY": "SG.fault-key", "SENDGRID_API_BASE": sg.URL,
		"EMAIL_FROM": "billing@example.com",
	}})
	user := hook.DB.CreateUser(t, "fault-mail@example.com")
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	ev := subscriptionEvent(t, "evt_mail_1", "created", "sub_mail_1", user, false, at)
	for i := 0; i < 2; i++ { // delivered, and delivered again
		if code := deliver(t, hook.URL, ev); code != http.StatusOK {
			t.Fatalf("webhook while SendGrid fails: %d, want 200", code)
		}
	}
	sg.mu.Lock()
	refused := sg.refused
	sg.failing = false
	sg.mu.Unlock()
	if refused == 0 {
		t.Fatal("the webhook did not try to send the welcome email")
	}

	// The reconcile job's retry, after the row's backoff.
	sender := mail.NewFromConfig(hook.Config, hook.Deps.Store, nil)
	for i := 0; i < 3; i++ {
		hook.DB.MustExec(t, `update public.email_outbox set next_attempt_at = now() where status in ('pending', 'failed')`)
		if _, err := sender.SendDue(context.Background(), 10); err != nil {
			t.Fatalf("SendDue: %v", err)
		}
	}
	sg.mu.Lock()
	defer sg.mu.Unlock()
	if sg.accepted != 1 {
		t.Fatalf("SendGrid accepted %d emails, want the one welcome email once", sg.accepted)
	}
}
