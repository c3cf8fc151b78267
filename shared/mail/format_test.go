package mail

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		val      any
		currency string
		locale   string
		want     string
	}{
		{float64(1200), "jpy", "en", "¥1,200"},
		{float64(1200), "JPY", "ja", "1,200円"},
		{float64(1234567), "jpy", "ja", "1,234,567円"},
		{float64(1999), "usd", "en", "$19.99"},
		{float64(1999), "usd", "ja", "$19.99"},
		{float64(123456789), "eur", "en", "€1,234,567.89"},
		{float64(500), "chf", "en", "5.00 CHF"},
		{float64(5000), "krw", "en", "5,000 KRW"},
		{float64(0), "gbp", "en", "£0.00"},
		{float64(42), "", "en", "42"},
		{"1200", "jpy", "ja", "1,200円"},
		{"abc", "jpy", "ja", ""},
		{nil, "jpy", "en", ""},
		{true, "jpy", "en", ""},
	}
	for _, tc := range tests {
		if got := formatAmount(tc.val, tc.currency, tc.locale); got != tc.want {
			t.Errorf("formatAmount(%v, %q, %q) = %q, want %q", tc.val, tc.currency, tc.locale, got, tc.want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	tests := []struct {
		val    any
		locale string
		want   string
	}{
		{"2026-12-26T00:00:00Z", "en", "December 26, 2026 at 00:00 UTC"},
		{"2026-12-26T00:00:00Z", "ja", "2026年12月26日 09:00（日本時間）"},
		{"2026-12-31T20:30:00+00:00", "ja", "2027年1月1日 05:30（日本時間）"},
		{"2026-12-26T09:00:00+09:00", "en", "December 26, 2026 at 00:00 UTC"},
		{"2026-12-26 00:00:00+00", "en", "December 26, 2026 at 00:00 UTC"}, // Postgres text form
		{"2026-12-26", "ja", "2026年12月26日 09:00（日本時間）"},
		{float64(1798243200), "en", "December 26, 2026 at 00:00 UTC"}, // Unix seconds
		{"1798243200", "ja", "2026年12月26日 09:00（日本時間）"},
		{"soon", "en", ""},
		{float64(-1), "en", ""},
		{nil, "ja", ""},
	}
	for _, tc := range tests {
		if got := formatDate(tc.val, tc.locale); got != tc.want {
			t.Errorf("formatDate(%v, %q) = %q, want %q", tc.val, tc.locale, got, tc.want)
		}
	}
}

func TestNormalizeLocale(t *testing.T) {
	tests := []struct{ in, def, want string }{
		{"ja", "en", "ja"}, {"JA-jp", "en", "ja"}, {"ja_JP", "en", "ja"}, {"en-US", "ja", "en"},
		{"", "ja", "ja"}, {"fr", "ja", "ja"}, {"", "", "en"}, {"jav", "en", "en"},
	}
	for _, tc := range tests {
		if got := normalizeLocale(tc.in, tc.def); got != tc.want {
			t.Errorf("normalizeLocale(%q, %q) = %q, want %q", tc.in, tc.def, got, tc.want)
		}
	}
}

func TestTitleCase(t *testing.T) {
	for in, want := range map[string]string{
		"standard": "Standard", "growth_plan": "Growth Plan", "pro-max": "Pro Max", "": "", "ümlaut": "Ümlaut",
	} {
		if got := titleCase(in); got != want {
			t.Errorf("titleCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ text, addr, want string }{
		{"invalid: a.b+c@example.com", "a.b+c@example.com", "invalid: [address]"},
		{`bad "x@y.example" here`, "", `bad "[address]" here`},
		{"to <someone@else.example>, ok", "me@example.com", "to <[address]>, ok"},
		{"HTTP 500: internal error", "me@example.com", "HTTP 500: internal error"},
	}
	for _, tc := range tests {
		if got := redact(tc.text, tc.addr); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
	long := strings.Repeat("あ", 500) // 1500 bytes
	if got := redact(long, ""); len(got) > 1000 || !strings.HasPrefix(long, got) || len(got)%3 != 0 {
		t.Errorf("redact cut %d bytes, splitting a character or too long", len(got))
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"errors":[{"message":"The from address does not match a verified Sender Identity.","field":"from","help":"x"}]}`,
			": The from address does not match a verified Sender Identity. (from)"},
		{`{"errors":[{"message":"a","field":null},{"message":"b","field":"subject"}]}`, ": a; b (subject)"},
		{`{"errors":[]}`, ""},
		{`<html>Bad Gateway</html>`, ""},
		{``, ""},
	}
	for _, tc := range tests {
		if got := errorMessages(tc.body); got != tc.want {
			t.Errorf("errorMessages(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestPgArray(t *testing.T) {
	if got := pgArray([]int64{1, 22, 333}); got != "{1,22,333}" {
		t.Errorf("pgArray = %q", got)
	}
	if got := pgArray(nil); got != "{}" {
		t.Errorf("pgArray(nil) = %q", got)
	}
}

// TestEveryKindHasBothLocales keeps the built-in templates complete.
func TestEveryKindHasBothLocales(t *testing.T) {
	for _, locale := range []string{"en", "ja"} {
		for _, kind := range Kinds {
			r, err := render(kind, locale, view{Locale: locale, Plan: "Standard", PortalURL: "https://x.example/account?a=1&b=<2>"})
			if err != nil {
				t.Errorf("%s/%s: %v", kind, locale, err)
				continue
			}
			if r.Subject == "" || !strings.Contains(r.Text, "https://x.example/account?a=1&b=<2>") ||
				!strings.Contains(r.HTML, `href="https://x.example/account?a=1&amp;b=&lt;2&gt;"`) {
				t.Errorf("%s/%s: link missing or not escaped:\n%s\n%s", kind, locale, r.Text, r.HTML)
			}
		}
	}
	if _, err := render("unknown_kind", "en", view{}); err == nil {
		t.Error("an unknown kind rendered")
	}
}

func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(Report{Sent: 1, Logged: 2, Failed: 3, GaveUp: 4})
	if err != nil || string(b) != `{"sent":1,"logged":2,"failed":3,"gave_up":4}` {
		t.Errorf("report JSON = %s, %v", b, err)
	}
	r := Report{Sent: 1}
	r.Add(Report{Sent: 1, GaveUp: 2})
	if r != (Report{Sent: 2, GaveUp: 2}) || r.Total() != 4 {
		t.Errorf("Add/Total = %+v, %d", r, r.Total())
	}
}
