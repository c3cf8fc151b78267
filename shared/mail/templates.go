package mail

import (
	"fmt"
	"html"
	"strings"
)

// rendered is a built-in email: subject, plain text and HTML.
type rendered struct {
	Subject string
	Text    string
	HTML    string
}

// content is a built-in email before it is written out: a subject,
// paragraphs, and an optional link shown after them.
type content struct {
	Subject   string
	Paras     []string
	LinkLabel string
	LinkURL   string
	Closing   string
}

// builtins holds the built-in text of each kind, per locale.
var builtins = map[string]map[string]func(v view) content{
	"en": {
		KindWelcome:               enWelcome,
		KindPaymentFailed:         enPaymentFailed,
		KindCancellationScheduled: enCancellationScheduled,
		KindSubscriptionEnded:     enSubscriptionEnded,
	},
	"ja": {
		KindWelcome:               jaWelcome,
		KindPaymentFailed:         jaPaymentFailed,
		KindCancellationScheduled: jaCancellationScheduled,
		KindSubscriptionEnded:     jaSubscriptionEnded,
	},
}

// render writes the built-in email of kind in locale ("en" or "ja").
func render(kind, locale string, v view) (rendered, error) {
	byKind, ok := builtins[locale]
	if !ok {
		byKind = builtins["en"]
	}
	build, ok := byKind[kind]
	if !ok {
		return rendered{}, fmt.Errorf("no built-in email for kind %q", kind)
	}
	c := build(v)
	if c.LinkURL == "" {
		c.LinkLabel = ""
	}
	return rendered{Subject: c.Subject, Text: c.text(), HTML: c.html(locale)}, nil
}

// text is the plain-text body: paragraphs, then "label:\nURL".
func (c content) text() string {
	parts := append([]string(nil), c.Paras...)
	if c.LinkLabel != "" {
		parts = append(parts, c.LinkLabel+":\n"+c.LinkURL)
	}
	if c.Closing != "" {
		parts = append(parts, c.Closing)
	}
	return strings.Join(parts, "\n\n") + "\n"
}

// html is a simple HTML body with every value escaped.
func (c content) html(locale string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head><meta charset=\"utf-8\"><title>%s</title></head>\n",
		html.EscapeString(locale), html.EscapeString(c.Subject))
	b.WriteString("<body style=\"font-family: sans-serif; line-height: 1.6; color: #222;\">\n")
	for _, p := range c.Paras {
		fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(p))
	}
	if c.LinkLabel != "" {
		fmt.Fprintf(&b, "<p><a href=\"%s\">%s</a></p>\n", html.EscapeString(c.LinkURL), html.EscapeString(c.LinkLabel))
	}
	if c.Closing != "" {
		fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(c.Closing))
	}
	b.WriteString("</body>\n</html>\n")
	return b.String()
}

// English ----------------------------------------------------------------------

func enPlan(v view) string {
	if v.Plan == "" {
		return "your subscription"
	}
	return "your " + v.Plan + " plan"
}

func enWelcome(v view) content {
	c := content{Subject: "Welcome! Your subscription is active", LinkLabel: "Manage your subscription",
		LinkURL: v.PortalURL, Closing: "Thank you for subscribing."}
	if v.Plan != "" {
		c.Subject = "Welcome to the " + v.Plan + " plan"
	}
	c.Paras = []string{"Thank you for subscribing: " + enPlan(v) + " is now active."}
	if v.PeriodEnd != "" {
		c.Paras = append(c.Paras, "It renews automatically on "+v.PeriodEnd+".")
	}
	return c
}

func enPaymentFailed(v view) content {
	c := content{Subject: "Payment failed: please update your payment method",
		LinkLabel: "Update your payment method", LinkURL: v.PortalURL,
		Closing: "If you have already updated it, you can ignore this email."}
	what := "the payment"
	if v.Amount != "" {
		what = "the payment of " + v.Amount
	}
	c.Paras = []string{
		"We could not collect " + what + " for " + enPlan(v) + ".",
		"Please update your payment method on your billing page to keep your access.",
	}
	return c
}

func enCancellationScheduled(v view) content {
	c := content{Subject: "Your subscription has been cancelled",
		LinkLabel: "Resume your subscription", LinkURL: v.PortalURL}
	c.Paras = []string{upperFirst(enPlan(v)) + " has been cancelled and will not renew."}
	if v.AccessUntil != "" {
		c.Subject = "Your subscription ends on " + v.AccessUntil
		c.Paras = append(c.Paras, "You keep full access until "+v.AccessUntil+".")
		c.Paras = append(c.Paras, "Changed your mind? You can resume your subscription before then.")
	} else {
		c.Paras = append(c.Paras, "You keep access until the end of the current billing period. Changed your mind? You can resume your subscription before then.")
	}
	return c
}

func enSubscriptionEnded(v view) content {
	c := content{Subject: "Your subscription has ended",
		LinkLabel: "Subscribe again", LinkURL: v.PortalURL, Closing: "Thank you for having been with us."}
	ended := upperFirst(enPlan(v)) + " has ended"
	if v.EndedAt != "" {
		ended += " (" + v.EndedAt + ")"
	}
	c.Paras = []string{ended + ".", "Paid features are no longer available. You can subscribe again at any time."}
	return c
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Japanese ---------------------------------------------------------------------

func jaPlan(v view) string {
	if v.Plan == "" {
		return "ご契約中のプラン"
	}
	return v.Plan + "プラン"
}

func jaWelcome(v view) content {
	c := content{Subject: "ご登録ありがとうございます", LinkLabel: "ご契約内容の確認",
		LinkURL: v.PortalURL, Closing: "今後ともよろしくお願いいたします。"}
	if v.Plan != "" {
		c.Subject = "【" + v.Plan + "プラン】ご登録ありがとうございます"
	}
	c.Paras = []string{"ご登録ありがとうございます。" + jaPlan(v) + "のご利用を開始しました。"}
	if v.PeriodEnd != "" {
		c.Paras = append(c.Paras, "次回の自動更新日は "+v.PeriodEnd+" です。")
	}
	return c
}

func jaPaymentFailed(v view) content {
	c := content{Subject: "【重要】お支払いを完了できませんでした",
		LinkLabel: "お支払い方法を更新する", LinkURL: v.PortalURL,
		Closing: "すでに更新済みの場合は、このメールは破棄してください。"}
	what := "お支払い"
	if v.Amount != "" {
		what = "お支払い（" + v.Amount + "）"
	}
	c.Paras = []string{
		jaPlan(v) + "の" + what + "を完了できませんでした。",
		"ご利用を継続いただくには、お支払い方法の更新をお願いいたします。",
	}
	return c
}

func jaCancellationScheduled(v view) content {
	c := content{Subject: "解約のお手続きを受け付けました",
		LinkLabel: "ご契約内容の確認・解約の取り消し", LinkURL: v.PortalURL}
	c.Paras = []string{jaPlan(v) + "の解約を受け付けました。次回以降の自動更新は行われません。"}
	if v.AccessUntil != "" {
		c.Subject = "解約のお手続きを受け付けました（" + v.AccessUntil + "までご利用いただけます）"
		c.Paras = append(c.Paras, v.AccessUntil+"まで、引き続きすべての機能をご利用いただけます。")
	} else {
		c.Paras = append(c.Paras, "現在の請求期間の終了まで、引き続きご利用いただけます。")
	}
	c.Paras = append(c.Paras, "期間終了前であれば、解約を取り消すことができます。")
	return c
}

func jaSubscriptionEnded(v view) content {
	c := content{Subject: "ご契約が終了しました",
		LinkLabel: "再度ご登録いただく", LinkURL: v.PortalURL, Closing: "これまでご利用いただき、ありがとうございました。"}
	ended := jaPlan(v) + "のご契約が終了しました。"
	if v.EndedAt != "" {
		ended = jaPlan(v) + "のご契約は " + v.EndedAt + " に終了しました。"
	}
	c.Paras = []string{ended, "有料機能はご利用いただけなくなりました。いつでも再度ご登録いただけます。"}
	return c
}
