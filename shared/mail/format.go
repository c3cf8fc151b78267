package mail

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"billing/shared/httpkit"
)

// jst is Japan Standard Time (no daylight saving), fixed so that no time
// zone database is needed on Lambda or WASI.
var jst = time.FixedZone("JST", 9*60*60)

// view is what the templates show, formatted for one locale. Every field
// may be empty: template_data fields are all optional.
type view struct {
	Locale      string
	Plan        string // display name: plan_name, else plan title-cased
	PeriodEnd   string // current_period_end
	AccessUntil string // access_until, else current_period_end
	EndedAt     string // ended_at
	Amount      string // amount_due in currency
	SiteURL     string
	PortalURL   string // SITE_URL + portal_path (default /account); "" without SITE_URL
}

// view formats the row's template data for locale.
func (s *Sender) view(kind, locale string, data map[string]any) view {
	v := view{Locale: locale, SiteURL: s.cfg.SiteURL}
	v.Plan = str(data, "plan_name")
	if v.Plan == "" {
		v.Plan = titleCase(str(data, "plan"))
	}
	v.PeriodEnd = formatDate(data["current_period_end"], locale)
	v.AccessUntil = formatDate(data["access_until"], locale)
	if v.AccessUntil == "" && kind == KindCancellationScheduled {
		v.AccessUntil = v.PeriodEnd
	}
	v.EndedAt = formatDate(data["ended_at"], locale)
	v.Amount = formatAmount(data["amount_due"], str(data, "currency"), locale)
	if s.cfg.SiteURL != "" {
		p, err := httpkit.SafePath("portal_path", str(data, "portal_path"), DefaultPortalPath)
		if err != nil {
			p = DefaultPortalPath
		}
		v.PortalURL = httpkit.JoinURL(s.cfg.SiteURL, p)
	}
	return v
}

// dynamicData is the dynamic_template_data of a SendGrid dynamic template:
// the row's template data as written, plus the formatted values (added only
// where the row has no key of that name).
func (v view) dynamicData(data map[string]any) map[string]any {
	out := make(map[string]any, len(data)+8)
	for k, val := range data {
		out[k] = val
	}
	add := func(k, val string) {
		if _, ok := out[k]; !ok && val != "" {
			out[k] = val
		}
	}
	add("locale", v.Locale)
	add("plan_name", v.Plan)
	add("current_period_end_display", v.PeriodEnd)
	add("access_until_display", v.AccessUntil)
	add("ended_at_display", v.EndedAt)
	add("amount_due_display", v.Amount)
	add("site_url", v.SiteURL)
	add("portal_url", v.PortalURL)
	return out
}

// str returns data[k] when it is a non-empty string.
func str(data map[string]any, k string) string {
	s, _ := data[k].(string)
	return strings.TrimSpace(s)
}

// titleCase turns a plan ID ("standard", "growth_plan") into a display
// name ("Standard", "Growth Plan").
func titleCase(id string) string {
	words := strings.FieldsFunc(id, func(r rune) bool { return r == '_' || r == '-' || r == ' ' })
	for i, w := range words {
		r, n := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToUpper(r)) + w[n:]
	}
	return strings.Join(words, " ")
}

// parseTime reads a time from template data: an RFC 3339 string, a
// date ("2026-12-26"), or Unix seconds as a number. ok is false otherwise.
func parseTime(val any) (time.Time, bool) {
	switch x := val.(type) {
	case string:
		x = strings.TrimSpace(x)
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
		if n, err := strconv.ParseInt(x, 10, 64); err == nil && n > 0 {
			return time.Unix(n, 0), true
		}
	case float64:
		if x > 0 && x < math.MaxInt32*4 {
			return time.Unix(int64(x), 0), true
		}
	}
	return time.Time{}, false
}

// formatDate formats a template data time for locale: English in UTC
// ("December 26, 2026 at 09:00 UTC"), Japanese in Japan time
// ("2026年12月26日 18:00（日本時間）"). It is "" when val is not a time.
func formatDate(val any, locale string) string {
	t, ok := parseTime(val)
	if !ok {
		return ""
	}
	if locale == "ja" {
		t = t.In(jst)
		return t.Format("2006年1月2日 15:04") + "（日本時間）"
	}
	return t.UTC().Format("January 2, 2006 at 15:04 UTC")
}

// zeroDecimal are the currencies Stripe amounts have no minor unit for.
var zeroDecimal = map[string]bool{
	"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true, "krw": true,
	"mga": true, "pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true,
	"xof": true, "xpf": true,
}

// symbols are the currency signs written before an English amount.
var symbols = map[string]string{"jpy": "¥", "usd": "$", "eur": "€", "gbp": "£"}

// formatAmount formats a Stripe amount (in the currency's smallest unit)
// for locale: "¥1,200" / "$12.00" / "12.00 CHF" in English, "1,200円" for
// yen in Japanese. It is "" when the amount is missing.
func formatAmount(val any, currency, locale string) string {
	var amount float64
	switch x := val.(type) {
	case float64:
		amount = x
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return ""
		}
		amount = f
	default:
		return ""
	}
	cur := strings.ToLower(currency)
	var num string
	if cur == "" || zeroDecimal[cur] {
		num = groupThousands(strconv.FormatInt(int64(math.Round(amount)), 10))
	} else {
		n := strconv.FormatFloat(amount/100, 'f', 2, 64)
		whole, frac, _ := strings.Cut(n, ".")
		num = groupThousands(whole) + "." + frac
	}
	switch {
	case cur == "":
		return num
	case locale == "ja" && cur == "jpy":
		return num + "円"
	case symbols[cur] != "":
		return symbols[cur] + num
	}
	return num + " " + strings.ToUpper(cur)
}

// groupThousands puts commas in a decimal integer ("-1234567" ->
// "-1,234,567").
func groupThousands(n string) string {
	sign := ""
	if strings.HasPrefix(n, "-") {
		sign, n = "-", n[1:]
	}
	var b strings.Builder
	for i, c := range n {
		if i > 0 && (len(n)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}
