package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/functions/handle-stripe-webhook/webhook"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
	"billing/internal/testdb"
)

const testWebhookSecret = "whsec_cli_test_0123456789abcdef"

// opsEnv points the operator commands at db and a recording proxy in front
// of stripe-mock, as an operator's environment would.
func opsEnv(t *testing.T, db *testdb.DB) *stripetest.Proxy {
	t.Helper()
	p := stripetest.NewProxy(t, stripetest.MockURL(t))
	env := fntest.DefaultEnv()
	env["DATABASE_URL"] = db.URL
	env["STRIPE_API_BASE"] = p.URL
	env["STRIPE_WEBHOOK_SECRET"] = testWebhookSecret
	for k, v := range env {
		t.Setenv(k, v)
	}
	for _, k := range []string{"SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "SENDGRID_API_KEY", "BILLING_PLANS_FILE", "LOG_LEVEL"} {
		t.Setenv(k, "")
	}
	return p
}

// stripeSubs makes the proxy list subs (one page) as Stripe's state.
type stripeSubs struct {
	mu   sync.Mutex
	subs []stripetest.Subscription
}

func (s *stripeSubs) set(subs ...stripetest.Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = subs
}

func (s *stripeSubs) serve(p *stripetest.Proxy) {
	p.Rewrite(http.MethodGet, "/v1/subscriptions", func(req stripetest.Request, body map[string]any) {
		if req.Path != "/v1/subscriptions" {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		template, _ := json.Marshal(body["data"].([]any)[0])
		out := []any{}
		for _, sub := range s.subs {
			var obj map[string]any
			_ = json.Unmarshal(template, &obj)
			stripetest.SetSubscription(req, obj, sub)
			obj["cancel_at_period_end"] = false
			out = append(out, obj)
		}
		body["data"], body["has_more"] = out, false
	})
}

func sub(id, user, status string, periodEnd time.Time) stripetest.Subscription {
	return stripetest.Subscription{ID: id, CustomerID: "cus_" + id, Status: status, PriceID: fntest.StandardPrice,
		UserID: user, CurrentPeriodStart: periodEnd.AddDate(0, -1, 0), CurrentPeriodEnd: periodEnd,
		Created: periodEnd.AddDate(0, -2, 0)}
}

func run(t *testing.T, cmd func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := cmd(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func reconcileRun(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
	return reconcileCmd(ctx, args, out, errOut)
}

func replayRun(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
	return replayCmd(ctx, args, out, errOut)
}

func statusRun(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
	return statusCmd(ctx, args, out, errOut)
}

func triggerRun(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
	return triggerCmd(ctx, args, out, errOut)
}

// `billing reconcile` (done-when): the dry run prints the drift both ways
// and writes nothing, -apply fixes it, a second run finds nothing.
func TestReconcileCommand(t *testing.T) {
	db := testdb.New(t)
	p := opsEnv(t, db)
	side := &stripeSubs{}
	side.serve(p)
	end := time.Now().Add(15 * 24 * time.Hour).UTC().Truncate(time.Second)
	gone := db.CreateUser(t, "gone@example.com")
	back := db.CreateUser(t, "back@example.com")
	fntest.LinkCustomer(t, db, gone, "cus_sub_gone")
	fntest.LinkCustomer(t, db, back, "cus_sub_back")
	fntest.InsertSubscription(t, db, fntest.Sub{ID: "sub_gone", UserID: gone, PeriodEnd: end})
	fntest.InsertSubscription(t, db, fntest.Sub{ID: "sub_back", UserID: back, Status: "canceled", PeriodEnd: end})
	side.set(sub("sub_gone", gone, "canceled", end), sub("sub_back", back, "active", end))

	out, errOut, err := run(t, reconcileRun)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, errOut)
	}
	for _, want := range []string{"sub_gone", "sub_back", "active standard until", "canceled standard until",
		"dry_run (all): checked 2 subscriptions, 2 differences (status 2)", "access would change for 2 user(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "2 subscriptions checked") || !strings.Contains(errOut, "dry run") {
		t.Errorf("no progress on stderr: %q", errOut)
	}
	if st := fntest.ReadSubscription(t, db, "sub_gone"); st.Status != "active" {
		t.Fatal("the dry run wrote")
	}

	out, _, err = run(t, reconcileRun, "-apply")
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if !strings.Contains(out, "applied 2,") || !strings.Contains(out, "access changed for 2 user(s)") {
		t.Fatalf("apply output:\n%s", out)
	}
	if a, b := fntest.ReadSubscription(t, db, "sub_gone"), fntest.ReadSubscription(t, db, "sub_back"); a.Status != "canceled" || b.Status != "active" {
		t.Fatalf("after apply: sub_gone %s, sub_back %s", a.Status, b.Status)
	}

	out, _, err = run(t, reconcileRun, "-json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Checked int   `json:"checked"`
		Changes []any `json:"changes"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Checked != 2 || len(rep.Changes) != 0 {
		t.Fatalf("second run: %s (%v)", out, err)
	}

	// A subscription that cannot be reconciled makes the command fail.
	side.set(sub("sub_gone", gone, "canceled", end), stripetest.Subscription{ID: "sub_x", CustomerID: "cus_x",
		Status: "active", PriceID: "price_unknown", CurrentPeriodEnd: end})
	if out, _, err := run(t, reconcileRun, "-apply"); err == nil || !strings.Contains(out, "error: sub_x") {
		t.Fatalf("unknown price: err %v\n%s", err, out)
	}

	for _, bad := range [][]string{{"-user", "nope"}, {"-emails", "maybe"}, {"extra"}} {
		if _, _, err := run(t, reconcileRun, bad...); err == nil {
			t.Errorf("reconcile %v succeeded", bad)
		}
	}
}

// `make dev` then `billing trigger customer.subscription.created` for the
// demo user changes what check-subscription returns: the webhook and
// check-subscription run in-process on one database as `billing dev`
// serves them, and trigger is the command's own code.
func TestTriggerChangesCheckSubscription(t *testing.T) {
	for _, linked := range []bool{false, true} {
		name := map[bool]string{false: "new customer", true: "customer linked by an earlier checkout"}[linked]
		t.Run(name, func(t *testing.T) {
			db := testdb.New(t)
			hook := fntest.Start(t, webhook.Spec, fntest.Options{DB: db, Env: map[string]string{"STRIPE_WEBHOOK_SECRET": testWebhookSecret}})
			check := fntest.Start(t, checksub.Spec, fntest.Options{DB: db})
			opsEnv(t, db)
			db.MustExec(t, `insert into auth.users (id, email) values ($1, $2)`, DemoUserID, DemoEmail)
			if linked {
				fntest.LinkCustomer(t, db, DemoUserID, "cus_fromcheckout")
			}
			token := check.Token(t, DemoUserID, DemoEmail)
			if code, body := check.Do(t, fntest.Call{Method: http.MethodGet, Token: token}); code != 200 || body["plan"] != "free" {
				t.Fatalf("before: %d %v", code, body)
			}

			out, errOut, err := run(t, triggerRun, "customer.subscription.created", "-url", hook.URL)
			if err != nil {
				t.Fatalf("trigger: %v\n%s%s", err, out, errOut)
			}
			if !strings.HasPrefix(out, "200 ") || !strings.Contains(out, `"processed"`) {
				t.Fatalf("trigger output %q", out)
			}
			code, body := check.Do(t, fntest.Call{Method: http.MethodGet, Token: token})
			if code != 200 || body["plan"] != "standard" || body["subscribed"] != true {
				t.Fatalf("after: %d %v", code, body)
			}
			wantCustomer := "cus_dev" + strings.ReplaceAll(DemoUserID, "-", "")[18:]
			if linked {
				wantCustomer = "cus_fromcheckout"
			}
			var customer string
			if err := db.Pool.QueryRow(context.Background(), `select customer_id from public.subscriptions`).Scan(&customer); err != nil || customer != wantCustomer {
				t.Fatalf("subscription customer %q (%v), want %q", customer, err, wantCustomer)
			}
		})
	}
}

func TestTriggerCommandErrors(t *testing.T) {
	db := testdb.New(t)
	opsEnv(t, db)
	tests := [][]string{
		{},                  // no type
		{"charge.refunded"}, // no fixture
		{"customer.subscription.created", "-user", "nope"},
		{"customer.subscription.created", "-plan", "free"}, // the free plan has no price
		{"customer.subscription.created", "-url", "http://127.0.0.1:1/functions/v1/handle-stripe-webhook"},
	}
	for _, args := range tests {
		if _, _, err := run(t, triggerRun, args...); err == nil {
			t.Errorf("trigger %v succeeded", args)
		}
	}
	out, _, err := run(t, triggerRun, "invoice.paid", "-print", "-user", "00000000-0000-4000-8000-0000000000aa")
	if err != nil || !strings.HasPrefix(out, "Stripe-Signature: t=") || !strings.Contains(out, `"type": "invoice.paid"`) {
		t.Fatalf("-print: %v\n%s", err, out)
	}
}

// `billing replay` re-applies what failed, once, and reports the rest as
// already applied; `billing status` shows the result.
func TestReplayAndStatusCommands(t *testing.T) {
	db := testdb.New(t)
	hook := fntest.Start(t, webhook.Spec, fntest.Options{DB: db, Env: map[string]string{"STRIPE_WEBHOOK_SECRET": testWebhookSecret}})
	opsEnv(t, db)
	user := db.CreateUser(t, "r@example.com")
	out, _, err := run(t, triggerRun, "customer.subscription.created", "-url", hook.URL, "-user", user, "-price", "price_later_added")
	if err == nil || !strings.Contains(out, "unknown_price") {
		t.Fatalf("delivery with an unknown price: %v %s", err, out)
	}

	t.Setenv("STRIPE_PREMIUM_PRICE_ID_TEST", "price_later_added") // the catalog is fixed
	out, errOut, err := run(t, replayRun, "-failed")
	if err != nil || !strings.Contains(out, "replayed 1 event(s): processed 1,") || !strings.Contains(errOut, "failed -> processed") {
		t.Fatalf("replay -failed: %v\n%s\n%s", err, out, errOut)
	}
	today := time.Now().UTC().Format("2006-01-02")
	out, _, err = run(t, replayRun, "-type", "customer.subscription.created", "-since", today)
	if err != nil || !strings.Contains(out, "replayed 1 event(s): processed 0, ignored 0, already applied (no change) 1,") {
		t.Fatalf("replay by type: %v\n%s", err, out)
	}
	if _, _, err := run(t, replayRun, "-id", "evt_missing"); err == nil {
		t.Fatal("replaying an unknown event succeeded")
	}
	for _, bad := range [][]string{{}, {"-since", "yesterday"}, {"-since", "2026-11-21", "-until", "2026-11-20"}} {
		if _, _, err := run(t, replayRun, bad...); err == nil {
			t.Errorf("replay %v succeeded", bad)
		}
	}

	out, _, err = run(t, statusRun, user)
	if err != nil || !strings.Contains(out, `"plan": "premium"`) || !strings.Contains(out, "customer.subscription.created") ||
		strings.Contains(out, "r@example.com") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	out, _, err = run(t, statusRun, user, "-json")
	var st struct {
		Access struct {
			Plan string `json:"plan"`
		} `json:"access"`
	}
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Access.Plan != "premium" {
		t.Fatalf("status -json: %v\n%s", err, out)
	}
	if _, _, err := run(t, statusRun, "not-a-user"); err == nil {
		t.Fatal("status of a non-UUID succeeded")
	}
}

func TestDevEnvFillsOnlyWhatIsUnset(t *testing.T) {
	for _, k := range []string{"DATABASE_URL", "STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_MODE", "DEV_DB_PORT", "DEV_STRIPE_MOCK_PORT", "PORT"} {
		t.Setenv(k, "")
	}
	t.Setenv("DEV_DB_PORT", "6000")
	t.Setenv("STRIPE_MODE", "test")
	applyDevEnv()
	if got := getenv("DATABASE_URL", ""); got != "postgres://postgres@127.0.0.1:6000/billing?sslmode=disable" {
		t.Errorf("DATABASE_URL = %q", got)
	}
	// The local Stripe of `billing dev` (state kept, validated by stripe-mock).
	if getenv("STRIPE_SECRET_KEY", "") != "sk_test_localstripe" || getenv("STRIPE_API_BASE", "") != "http://127.0.0.1:54321/local-stripe" {
		t.Errorf("the local Stripe not chosen: %s %s", getenv("STRIPE_SECRET_KEY", ""), getenv("STRIPE_API_BASE", ""))
	}
	t.Setenv("STRIPE_SECRET_KEY", "sk_test_real")
	t.Setenv("STRIPE_API_BASE", "")
	applyDevEnv()
	if getenv("STRIPE_API_BASE", "") != "" {
		t.Error("a real key was sent to stripe-mock")
	}
}
