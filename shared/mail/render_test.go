package mail_test

import (
	"context"
	"strings"
	"testing"
	"unicode"

	"billing/internal/testdb"
	"billing/shared/mail"
)

// fullData is template data with every field the webhook writes.
const fullData = `{"plan": "standard", "current_period_end": "2026-12-26T00:00:00Z",
	"access_until": "2027-01-10T15:00:00Z", "ended_at": "2027-01-10T15:00:00Z",
	"portal_path": "/account/billing", "amount_due": 1200, "currency": "jpy"}`

func hasJapanese(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
			return true
		}
	}
	return false
}

func TestBuiltInEmailsEveryKindAndLocale(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	sg := newSendGrid(t, nil)
	sender := mail.New(senderConfig(sg), caller(t, db, "pgx"), nil)
	ctx := context.Background()
	portal := `<a href="https://app.example/account/billing">`

	tests := []struct {
		kind, locale string
		subject      []string // substrings of the subject
		text         []string // substrings of the plain text
		html         []string // substrings of the HTML
	}{
		{"welcome", "en", []string{"Welcome", "Standard"},
			[]string{"Standard plan is now active", "December 26, 2026 at 00:00 UTC", "https://app.example/account/billing"},
			[]string{`lang="en"`, "Standard plan is now active", portal}},
		{"welcome", "ja", []string{"Standardプラン", "ご登録ありがとうございます"},
			[]string{"Standardプランのご利用を開始しました", "2026年12月26日 09:00（日本時間）"},
			[]string{`lang="ja"`, "ご登録ありがとうございます", portal}},
		{"payment_failed", "en", []string{"Payment failed"},
			[]string{"payment of ¥1,200", "Standard plan", "Update your payment method:\nhttps://app.example/account/billing"},
			[]string{portal + "Update your payment method</a>"}},
		{"payment_failed", "ja", []string{"お支払い"},
			[]string{"お支払い（1,200円）を完了できませんでした", "お支払い方法を更新する:\nhttps://app.example/account/billing"},
			[]string{portal + "お支払い方法を更新する</a>"}},
		{"cancellation_scheduled", "en", []string{"ends on January 10, 2027 at 15:00 UTC"},
			[]string{"Standard plan has been cancelled", "You keep full access until January 10, 2027 at 15:00 UTC."},
			[]string{"January 10, 2027 at 15:00 UTC", portal}},
		{"cancellation_scheduled", "ja", []string{"2027年1月11日 00:00（日本時間）までご利用いただけます"},
			[]string{"Standardプランの解約を受け付けました", "2027年1月11日 00:00（日本時間）まで、引き続き"},
			[]string{"2027年1月11日 00:00", portal}},
		{"subscription_ended", "en", []string{"Your subscription has ended"},
			[]string{"Your Standard plan has ended (January 10, 2027 at 15:00 UTC).", "subscribe again"},
			[]string{"Paid features are no longer available", portal}},
		{"subscription_ended", "ja", []string{"ご契約が終了しました"},
			[]string{"Standardプランのご契約は 2027年1月11日 00:00（日本時間） に終了しました。"},
			[]string{"有料機能", portal}},
	}
	for _, tc := range tests {
		t.Run(tc.kind+"/"+tc.locale, func(t *testing.T) {
			user := db.CreateUser(t, tc.kind+"."+tc.locale+"@example.com")
			id := insertRow(t, db, user, tc.kind, tc.locale, fullData)
			rep, err := sender.SendIDs(ctx, []int64{id})
			if err != nil {
				t.Fatal(err)
			}
			wantReport(t, rep, mail.Report{Sent: 1})
			var m *sgMessage
			for _, r := range sg.Requests() {
				if r.OutboxID() == id {
					m = &r
				}
			}
			if m == nil {
				t.Fatalf("no request for outbox row %d", id)
			}
			if m.To() != tc.kind+"."+tc.locale+"@example.com" {
				t.Errorf("to = %q", m.To())
			}
			if m.CustomArgs["kind"] != tc.kind || m.Categories[0] != tc.kind {
				t.Errorf("custom_args = %v, categories = %v", m.CustomArgs, m.Categories)
			}
			text, html := m.Body("text/plain"), m.Body("text/html")
			for _, w := range tc.subject {
				if !strings.Contains(m.Subject, w) {
					t.Errorf("subject %q lacks %q", m.Subject, w)
				}
			}
			for _, w := range tc.text {
				if !strings.Contains(text, w) {
					t.Errorf("text lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.html {
				if !strings.Contains(html, w) {
					t.Errorf("html lacks %q:\n%s", w, html)
				}
			}
			if ja := hasJapanese(m.Subject + text); ja != (tc.locale == "ja") {
				t.Errorf("locale %s: Japanese text = %v:\n%s\n%s", tc.locale, ja, m.Subject, text)
			}
			if got := state(t, db, id); got.Status != "sent" || got.Attempts != 1 || !got.Sent {
				t.Errorf("row = %+v, want sent after 1 attempt", got)
			}
		})
	}
}

// TestBuiltInEmailsWithoutData: every field of template_data is optional,
// and the locale comes from the row (any ja/en tag) or EMAIL_LOCALE.
func TestBuiltInEmailsWithoutData(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	sg := newSendGrid(t, nil)
	cfg := senderConfig(sg)
	cfg.Locale = "ja"
	sender := mail.New(cfg, caller(t, db, "pgx"), nil)
	ctx := context.Background()

	for _, kind := range mail.Kinds {
		for _, loc := range []struct {
			row, want string
		}{{"", "ja"}, {"ja-JP", "ja"}, {"en_US", "en"}, {"fr", "ja"}} {
			t.Run(kind+"/"+loc.row, func(t *testing.T) {
				user := db.CreateUser(t, kind+loc.row+"@example.com")
				for _, data := range []string{`{}`, `{"plan": 3, "amount_due": "x", "current_period_end": "soon", "portal_path": "https://evil.example/"}`} {
					id := insertRow(t, db, user, kind, loc.row, data)
					rep, err := sender.SendIDs(ctx, []int64{id})
					if err != nil {
						t.Fatal(err)
					}
					wantReport(t, rep, mail.Report{Sent: 1})
					reqs := sg.Requests()
					m := reqs[len(reqs)-1]
					text := m.Body("text/plain")
					if m.OutboxID() != id {
						t.Fatalf("last request is for row %d, want %d", m.OutboxID(), id)
					}
					if ja := hasJapanese(m.Subject + text); ja != (loc.want == "ja") {
						t.Errorf("want locale %s; got:\n%s\n%s", loc.want, m.Subject, text)
					}
					for _, bad := range []string{"%!", "<nil>", "  ", "()", "（）", "evil.example"} {
						if strings.Contains(m.Subject+text+m.Body("text/html"), bad) {
							t.Errorf("email holds %q:\n%s\n%s", bad, m.Subject, text)
						}
					}
					if !strings.Contains(text, siteURL+"/account\n") {
						t.Errorf("link is not the default portal page:\n%s", text)
					}
				}
			})
		}
	}
}

func TestDynamicTemplate(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	sg := newSendGrid(t, nil)
	cfg := senderConfig(sg)
	cfg.Templates = map[string]string{"payment_failed": "d-0123456789abcdef"}
	sender := mail.New(cfg, caller(t, db, "pgx"), nil)
	user := db.CreateUser(t, "dyn@example.com")
	failed := insertRow(t, db, user, "payment_failed", "ja", fullData)
	welcome := insertRow(t, db, user, "welcome", "ja", fullData)

	rep, err := sender.SendIDs(context.Background(), []int64{failed, welcome})
	if err != nil {
		t.Fatal(err)
	}
	wantReport(t, rep, mail.Report{Sent: 2})
	reqs := sg.Requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d, want 2", len(reqs))
	}
	for _, m := range reqs {
		switch m.OutboxID() {
		case failed:
			if m.TemplateID != "d-0123456789abcdef" {
				t.Errorf("template_id = %q", m.TemplateID)
			}
			d := m.Personalizations[0].DynamicTemplateData
			want := map[string]any{
				"plan": "standard", "amount_due": float64(1200), "currency": "jpy",
				"portal_path": "/account/billing", "portal_url": siteURL + "/account/billing",
				"site_url": siteURL, "locale": "ja", "plan_name": "Standard", "amount_due_display": "1,200円",
				"current_period_end":         "2026-12-26T00:00:00Z",
				"current_period_end_display": "2026年12月26日 09:00（日本時間）",
			}
			for k, v := range want {
				if d[k] != v {
					t.Errorf("dynamic_template_data[%s] = %#v, want %#v", k, d[k], v)
				}
			}
		case welcome:
			if m.TemplateID != "" || !strings.Contains(m.Subject, "ご登録") {
				t.Errorf("a kind without a template must use the built-in email: %+v", m)
			}
		default:
			t.Errorf("request for unknown row %d", m.OutboxID())
		}
	}
}
