package changeplan_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"billing/functions/change-plan/changeplan"
	"billing/functions/check-subscription/checksub"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
	"billing/shared/plans"
)

func TestPreviewUpgrade(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			w := start(t, fntest.Options{Path: path})
			_, token := w.Subscribe(t, "pv"+path, fntest.Sub{Status: "active"})
			before := time.Now().Unix()
			code, body := w.Post(t, token, `{"plan":"premium","preview":true,"subscriptionId":"sub_other"}`)
			if code != 200 {
				t.Fatalf("%d %v", code, body)
			}
			pd := int64(body["prorationDate"].(float64))
			if pd < before-1 || pd > time.Now().Unix() {
				t.Errorf("prorationDate %d is not now", pd)
			}
			if body["amountDue"] != float64(previewAmountDue) || body["currency"] != "jpy" || body["effective"] != "now" ||
				body["change"] != "upgrade" || body["plan"] != "premium" || body["currentPlan"] != "standard" {
				t.Errorf("preview %v", body)
			}
			lines, _ := body["lines"].([]any)
			if len(lines) != 2 || lines[0].(map[string]any)["amount"] != float64(previewCredit) {
				t.Errorf("lines %v", body["lines"])
			}
			next, _ := body["nextRenewal"].(map[string]any)
			if next["amount"] != float64(premiumUnit) || next["date"] != fntest.DefaultPeriodEnd.Format(time.RFC3339) {
				t.Errorf("nextRenewal %v", next)
			}
			reqs := w.Proxy.Requests(http.MethodGet, "/v1/invoices/upcoming")
			if len(reqs) != 1 {
				t.Fatalf("previews %+v", reqs)
			}
			f := reqs[0].Form
			for k, v := range map[string]string{
				"customer": "cus_pv" + path, "subscription": "sub_pv" + path,
				"subscription_items[0][price]":    fntest.PremiumPrice,
				"subscription_proration_behavior": "always_invoice",
				"subscription_proration_date":     strconv.FormatInt(pd, 10),
			} {
				if got := f.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if f.Get("subscription_items[0][id]") == "" {
				t.Error("the preview does not name the subscription item")
			}
			if n := w.Proxy.Count(http.MethodPost, "/"); n != 0 {
				t.Errorf("a preview made %d POSTs", n)
			}
		})
	}
}

func TestUpgradeWithTheProrationDate(t *testing.T) {
	w := start(t, fntest.Options{})
	check := fntest.Start(t, checksub.Spec, fntest.Options{DB: w.DB})
	user, token := w.Subscribe(t, "up", fntest.Sub{Status: "active"})
	pd := time.Now().Add(-2 * time.Minute).Unix()
	code, body := w.Post(t, token, fmt.Sprintf(`{"plan":"premium","prorationDate":%d}`, pd))
	if code != 200 || body["plan"] != "premium" || body["subscribed"] != true || body["scheduledPlan"] != nil {
		t.Fatalf("%d %v", code, body)
	}
	reqs := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/sub_up")
	if len(reqs) != 1 {
		t.Fatalf("updates %+v", reqs)
	}
	r := reqs[0]
	for k, v := range map[string]string{
		"items[0][price]":    fntest.PremiumPrice,
		"proration_behavior": "always_invoice",
		"proration_date":     strconv.FormatInt(pd, 10),
		"payment_behavior":   "pending_if_incomplete",
		"expand[0]":          "latest_invoice",
	} {
		if got := r.Form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if r.Form.Get("items[0][id]") == "" {
		t.Error("the update does not name the item (Stripe would add a second one)")
	}
	wantKey := "change-plan:sub_up:" + fntest.PremiumPrice + ":" + strconv.FormatInt(pd, 10)
	if r.IdempotencyKey != wantKey {
		t.Errorf("idempotency key %q, want %q", r.IdempotencyKey, wantKey)
	}
	if code, cs := check.Post(t, check.Token(t, user, ""), ""); code != 200 || cs["plan"] != "premium" {
		t.Errorf("check-subscription after the upgrade: %d %v", code, cs)
	}

	// The same request again changes nothing: the plan is premium already.
	w.Proxy.Reset()
	code, again := w.Post(t, token, fmt.Sprintf(`{"plan":"premium","prorationDate":%d}`, pd))
	if code != http.StatusConflict || again["error"] != changeplan.CodeSamePlan {
		t.Errorf("second change: %d %v", code, again)
	}
	if n := w.Proxy.Count(http.MethodPost, "/"); n != 0 {
		t.Errorf("the second identical change made %d Stripe updates", n)
	}
}

// TestRetriedChangeHasTheSameKey: when Stripe's answer could not be
// applied (a same-second event came first), the app's retry sends the
// same idempotency key, so Stripe makes the change and charges once.
func TestRetriedChangeHasTheSameKey(t *testing.T) {
	w := start(t, fntest.Options{})
	_, token := w.Subscribe(t, "retry", fntest.Sub{Status: "active", StateAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)})
	pd := time.Now().Unix()
	for range 2 {
		if code, body := w.Post(t, token, fmt.Sprintf(`{"plan":"premium","prorationDate":%d}`, pd)); code != 200 {
			t.Fatalf("%d %v", code, body)
		}
	}
	reqs := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/")
	if len(reqs) != 2 || reqs[0].IdempotencyKey != reqs[1].IdempotencyKey || reqs[0].IdempotencyKey == "" {
		t.Fatalf("retries %d, keys %q", len(reqs), keys(reqs))
	}
}

func TestUpgradePaymentFails(t *testing.T) {
	w := start(t, fntest.Options{})
	check := fntest.Start(t, checksub.Spec, fntest.Options{DB: w.DB})
	user, token := w.Subscribe(t, "declined", fntest.Sub{Status: "active"})
	w.mu.Lock()
	w.failPayment = true
	w.mu.Unlock()
	code, body := w.Post(t, token, `{"plan":"premium"}`)
	if code != http.StatusPaymentRequired || body["error"] != changeplan.CodePaymentFailed ||
		body["hostedInvoiceUrl"] != "https://invoice.stripe.com/i/acct_test/in_pending" || body["invoiceId"] != "in_pending" {
		t.Fatalf("%d %v", code, body)
	}
	if code, cs := check.Post(t, check.Token(t, user, ""), ""); code != 200 || cs["plan"] != "standard" {
		t.Errorf("a failed upgrade granted the new plan: %d %v", code, cs)
	}
	// While the upgrade waits for its payment, no other change is made.
	w.Proxy.Rewrite("GET", "/v1/subscriptions/sub_declined", func(_ stripetest.Request, b map[string]any) {
		b["pending_update"] = map[string]any{"expires_at": time.Now().Add(time.Hour).Unix()}
	})
	w.Proxy.Reset()
	code, body = w.Post(t, token, `{"plan":"premium"}`)
	if code != http.StatusConflict || body["error"] != changeplan.CodeChangePending {
		t.Errorf("change during a pending update: %d %v", code, body)
	}
	if n := w.Proxy.Count(http.MethodPost, "/"); n != 0 {
		t.Errorf("%d Stripe updates during a pending update", n)
	}
}

func TestDowngradeAtPeriodEnd(t *testing.T) {
	w := start(t, fntest.Options{})
	check := fntest.Start(t, checksub.Spec, fntest.Options{DB: w.DB})
	user, token := w.Subscribe(t, "down", fntest.Sub{Status: "active", Plan: "premium"})
	end := fntest.DefaultPeriodEnd

	code, pv := w.Post(t, token, `{"plan":"standard","preview":true}`)
	if code != 200 || pv["effective"] != "period_end" || pv["amountDue"] != float64(0) || pv["change"] != "downgrade" ||
		pv["effectiveAt"] != end.Format(time.RFC3339) {
		t.Fatalf("preview %d %v", code, pv)
	}
	up := w.Proxy.Requests(http.MethodGet, "/v1/invoices/upcoming")[0].Form
	if up.Get("subscription_proration_behavior") != "none" || up.Has("subscription_proration_date") ||
		up.Get("subscription_items[0][price]") != fntest.StandardPrice {
		t.Errorf("downgrade preview sent %v", up)
	}

	w.Proxy.Reset()
	code, body := w.Post(t, token, `{"plan":"standard"}`)
	if code != 200 || body["plan"] != "premium" || body["scheduledPlan"] != "standard" ||
		body["scheduledChangeAt"] != end.Format(time.RFC3339) {
		t.Fatalf("%d %v\n%s", code, body, w.Logs())
	}
	if n := w.Proxy.Count(http.MethodPost, "/v1/subscriptions/"); n != 0 {
		t.Errorf("a downgrade at the period end updated the subscription %d times", n)
	}
	creates := w.Proxy.Requests(http.MethodPost, "/v1/subscription_schedules")
	if len(creates) != 2 || creates[0].Form.Get("from_subscription") != "sub_down" {
		t.Fatalf("schedule calls %+v", creates)
	}
	u := creates[1]
	for k, v := range map[string]string{
		"end_behavior":                  "release",
		"phases[0][items][0][price]":    fntest.PremiumPrice,
		"phases[0][end_date]":           strconv.FormatInt(end.Unix(), 10),
		"phases[0][proration_behavior]": "none",
		"phases[1][items][0][price]":    fntest.StandardPrice,
		"phases[1][iterations]":         "1",
		"phases[1][proration_behavior]": "none",
	} {
		if got := u.Form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if u.Path != "/v1/subscription_schedules/sub_sched_down" || u.IdempotencyKey == "" || creates[0].IdempotencyKey == "" {
		t.Errorf("update %s, keys %q", u.Path, keys(creates))
	}
	if code, cs := check.Post(t, check.Token(t, user, ""), ""); code != 200 || cs["plan"] != "premium" || cs["scheduledPlan"] != "standard" {
		t.Errorf("check-subscription: %d %v", code, cs)
	}

	// The same downgrade again: already scheduled, nothing is sent.
	w.Proxy.Reset()
	if code, again := w.Post(t, token, `{"plan":"standard"}`); code != 200 || again["scheduledPlan"] != "standard" {
		t.Errorf("second downgrade: %d %v", code, again)
	}
	if n := w.Proxy.Count("", "/"); n != 0 {
		t.Errorf("the second identical downgrade made %d Stripe calls", n)
	}

	// Back to premium: the schedule is released, nothing is scheduled.
	w.Proxy.Reset()
	code, body = w.Post(t, token, `{"plan":"premium"}`)
	if code != 200 || body["plan"] != "premium" || body["scheduledPlan"] != nil || body["scheduledChangeAt"] != nil {
		t.Fatalf("keep premium: %d %v", code, body)
	}
	rel := w.Proxy.Requests(http.MethodPost, "/v1/subscription_schedules/sub_sched_down/release")
	if len(rel) != 1 || rel[0].Form.Get("preserve_cancel_date") != "true" {
		t.Errorf("release %+v", rel)
	}
	if n := w.Proxy.Count(http.MethodPost, "/v1/subscriptions/"); n != 0 {
		t.Errorf("keeping the plan updated the subscription %d times", n)
	}
}

func TestDowngradeImmediatelyByCatalog(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plans.json")
	doc := strings.Replace(string(plans.DefaultJSON()), `"free_plan"`, `"downgrade": "immediately", "free_plan"`, 1)
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	w := start(t, fntest.Options{Env: map[string]string{"BILLING_PLANS_FILE": file}})
	_, token := w.Subscribe(t, "now", fntest.Sub{Status: "active", Plan: "premium"})
	code, body := w.Post(t, token, `{"plan":"standard"}`)
	if code != 200 || body["plan"] != "standard" || body["scheduledPlan"] != nil {
		t.Fatalf("%d %v", code, body)
	}
	r := w.Proxy.Requests(http.MethodPost, "/v1/subscriptions/sub_now")
	if len(r) != 1 || r[0].Form.Get("proration_behavior") != "create_prorations" || r[0].Form.Has("payment_behavior") ||
		r[0].Form.Get("items[0][price]") != fntest.StandardPrice {
		t.Fatalf("update %+v", r)
	}
	if n := w.Proxy.Count(http.MethodPost, "/v1/subscription_schedules"); n != 0 {
		t.Errorf("%d schedule calls for an immediate downgrade", n)
	}
}

func keys(reqs []stripetest.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.IdempotencyKey)
	}
	return out
}

// TestUpgradeReleasesAScheduledDowngrade: on a catalog of basic < standard
// < premium, a standard subscriber schedules a downgrade to basic, then
// upgrades to premium: the schedule is released first (else it would move
// the subscription back at its next phase), then the upgrade is made.
func TestUpgradeReleasesAScheduledDowngrade(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plans.json")
	doc := `{"free_plan":"free","plans":[{"id":"free"},
		{"id":"basic","price_ids":{"test":"price_basic_test"}},
		{"id":"standard","price_ids":{"test":"${STRIPE_STANDARD_PRICE_ID_TEST}"}},
		{"id":"premium","price_ids":{"test":"${STRIPE_PREMIUM_PRICE_ID_TEST}"}}]}`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	w := start(t, fntest.Options{Env: map[string]string{"BILLING_PLANS_FILE": file}})
	_, token := w.Subscribe(t, "mid", fntest.Sub{Status: "active"})
	if code, body := w.Post(t, token, `{"plan":"basic"}`); code != 200 || body["scheduledPlan"] != "basic" {
		t.Fatalf("downgrade: %d %v", code, body)
	}
	w.Proxy.Reset()
	code, body := w.Post(t, token, `{"plan":"premium"}`)
	if code != 200 || body["plan"] != "premium" || body["scheduledPlan"] != nil {
		t.Fatalf("upgrade: %d %v", code, body)
	}
	posts := w.Proxy.Requests(http.MethodPost, "/v1/")
	if len(posts) != 2 || posts[0].Path != "/v1/subscription_schedules/sub_sched_mid/release" ||
		posts[1].Path != "/v1/subscriptions/sub_mid" || posts[1].Form.Get("items[0][price]") != fntest.PremiumPrice {
		var paths []string
		for _, p := range posts {
			paths = append(paths, p.Method+" "+p.Path)
		}
		t.Fatalf("calls %v, want the release then the update", paths)
	}
}

// TestDowngradeAgainAfterKeepingThePlan: downgrade, keep the plan (the
// schedule is released), downgrade again in the same period: a new
// schedule is made with a new key, never a replay of the released one.
func TestDowngradeAgainAfterKeepingThePlan(t *testing.T) {
	w := start(t, fntest.Options{})
	_, token := w.Subscribe(t, "again", fntest.Sub{Status: "active", Plan: "premium"})
	for i, plan := range []string{"standard", "premium", "standard"} {
		if code, body := w.Post(t, token, `{"plan":"`+plan+`"}`); code != 200 || body["plan"] != "premium" {
			t.Fatalf("call %d (%s): %d %v", i, plan, code, body)
		}
	}
	creates := w.Proxy.Requests(http.MethodPost, "/v1/subscription_schedules")
	var news []string
	for _, r := range creates {
		if r.Path == "/v1/subscription_schedules" {
			news = append(news, r.IdempotencyKey)
		}
	}
	if len(news) != 2 || news[0] == news[1] {
		t.Fatalf("schedule creations with keys %q, want two different", news)
	}
}

// TestDowngradeOfATrialKeepsTheTrial: the current phase of a trialing
// subscription keeps its trial end.
func TestDowngradeOfATrialKeepsTheTrial(t *testing.T) {
	w := start(t, fntest.Options{})
	_, token := w.Subscribe(t, "trial", fntest.Sub{Status: "trialing", Plan: "premium"})
	trialEnd := fntest.DefaultPeriodEnd.Unix()
	w.Proxy.Rewrite(http.MethodGet, "/v1/subscriptions/sub_trial", func(_ stripetest.Request, b map[string]any) {
		b["trial_end"] = trialEnd
	})
	if code, body := w.Post(t, token, `{"plan":"standard"}`); code != 200 || body["scheduledPlan"] != "standard" {
		t.Fatalf("%d %v", code, body)
	}
	u := w.Proxy.Requests(http.MethodPost, "/v1/subscription_schedules/sub_sched_trial")
	if len(u) != 1 || u[0].Form.Get("phases[0][trial_end]") != strconv.FormatInt(trialEnd, 10) {
		t.Fatalf("phases sent %+v", u)
	}
}

// TestUpgradeReadsItsOwnWrite: the subscription's last event is from this
// very second (a resume a moment ago), so Stripe's answer to the upgrade,
// stamped with a lower bound of its read, is not later than the stored
// state. The change waits the bounded time cancel and resume wait, reads
// the subscription again and applies it: the 200 body and the next
// check-subscription show the new plan (they showed the old one, and the
// demo's upgrade step failed, when only the webhook event applied it).
func TestUpgradeReadsItsOwnWrite(t *testing.T) {
	w := start(t, fntest.Options{})
	check := fntest.Start(t, checksub.Spec, fntest.Options{DB: w.DB})
	user, token := w.Subscribe(t, "own", fntest.Sub{Status: "active", StateAt: time.Now().UTC().Truncate(time.Second)})
	// Stripe keeps the new price: the read after the update answers it.
	w.Proxy.Rewrite("POST", "/v1/subscriptions/sub_own", func(req stripetest.Request, _ map[string]any) {
		if price := req.Form.Get("items[0][price]"); price != "" {
			w.Update("sub_own", func(s *fntest.Sub) { s.PriceID, s.Plan = price, "premium" })
		}
	})
	began := time.Now()
	code, body := w.Post(t, token, `{"plan":"premium"}`)
	took := time.Since(began)
	if code != 200 || body["plan"] != "premium" {
		t.Fatalf("%d %v, want 200 with the premium plan", code, body)
	}
	if took > 4*time.Second {
		t.Errorf("the upgrade took %v, want at most about 3 s of waiting", took)
	}
	// One read before the update (its item), one after it.
	if n := w.Proxy.Count(http.MethodGet, "/v1/subscriptions/sub_own"); n != 2 {
		t.Errorf("%d reads of the subscription, want 2", n)
	}
	if code, cs := check.Post(t, check.Token(t, user, ""), ""); code != 200 || cs["plan"] != "premium" {
		t.Errorf("check-subscription after the upgrade: %d %v", code, cs)
	}
}
