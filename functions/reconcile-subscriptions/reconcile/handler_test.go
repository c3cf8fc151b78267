package reconcile_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest/fntest"
	"billing/shared/auth/authtest"
)

// The success page (known trap 11): a user whose webhook has not arrived
// calls the function with their token and gets the paid plan; a second call
// within the interval is answered from the database (no Stripe request);
// another user's token syncs only that user's customer.
func TestSuccessPageSync(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			side := &stripeSide{recent: map[string]bool{"sub_payer": true}} // the checkout just made
			e := start(t, path, side, nil)
			payer := e.DB.CreateUser(t, "payer@example.com")
			other := e.DB.CreateUser(t, "other@example.com")
			fntest.LinkCustomer(t, e.DB, payer, "cus_payer")
			fntest.LinkCustomer(t, e.DB, other, "cus_other")
			side.set(
				fntest.Sub{ID: "sub_payer", UserID: payer, CustomerID: "cus_payer"},
				fntest.Sub{ID: "sub_other", UserID: other, CustomerID: "cus_other", Plan: "premium", Status: "past_due"},
			)
			if got := accessOf(t, e, payer); got.Subscribed {
				t.Fatal("setup: the payer has access before any sync")
			}

			code, body := e.Post(t, e.Token(t, payer, "payer@example.com"), `{"userId":"`+other+`"}`)
			if code != 200 || body["plan"] != "standard" || body["subscribed"] != true || body["hasMemberAccess"] != true {
				t.Fatalf("first call: %d %v", code, body)
			}
			lists := listRequests(e.Proxy)
			if len(lists) != 1 || lists[0].Form.Get("customer") != "cus_payer" || lists[0].Form.Get("status") != "all" {
				t.Fatalf("Stripe list requests = %+v, want one for cus_payer with status=all", lists)
			}
			if st := fntest.ReadSubscription(t, e.DB, "sub_payer"); st.Status != "active" {
				t.Fatalf("sub_payer stored as %s", st.Status)
			}
			if n := countRows(t, e, `select count(*) from public.subscriptions where id = 'sub_other'`); n != 0 {
				t.Fatal("the payer's sync wrote another customer's subscription")
			}
			// The welcome email the sync enqueued was handed to the sender at
			// once (logged: no SendGrid key in this test).
			if n := countRows(t, e, `select count(*) from public.email_outbox where user_id = '`+payer+`' and kind = 'welcome' and status = 'logged'`); n != 1 {
				t.Errorf("welcome emails handled = %d, want 1", n)
			}

			e.Proxy.Reset()
			code, body = e.Post(t, e.Token(t, payer, "payer@example.com"), ``)
			if code != 200 || body["plan"] != "standard" {
				t.Fatalf("second call: %d %v", code, body)
			}
			if n := len(listRequests(e.Proxy)); n != 0 {
				t.Fatalf("the second call within the interval asked Stripe %d times", n)
			}

			code, body = e.Post(t, e.Token(t, other, "other@example.com"), `{}`)
			if code != 200 || body["plan"] != "free" || body["status"] != "past_due" || body["planType"] != "premium" {
				t.Fatalf("other user: %d %v", code, body)
			}
			lists = listRequests(e.Proxy)
			if len(lists) != 1 || lists[0].Form.Get("customer") != "cus_other" {
				t.Fatalf("other user's sync listed %+v, want only cus_other", lists)
			}
		})
	}
}

// The interval is kept in the database: a second instance of the function
// (another Lambda) on the same database does not ask Stripe again.
func TestUserSyncIntervalAcrossInstances(t *testing.T) {
	side := &stripeSide{}
	a := start(t, "pgx", side, nil)
	b := fntest.Start(t, reconcile.Spec, fntest.Options{DB: a.DB})
	side.serve(t, b.Proxy)
	u := a.DB.CreateUser(t, "i@example.com")
	fntest.LinkCustomer(t, a.DB, u, "cus_i")
	side.set(fntest.Sub{ID: "sub_i", UserID: u, CustomerID: "cus_i"})

	if code, body := a.Post(t, a.Token(t, u, "i@example.com"), ``); code != 200 || body["plan"] != "standard" {
		t.Fatalf("instance a: %d %v", code, body)
	}
	if code, body := b.Post(t, b.Token(t, u, "i@example.com"), ``); code != 200 || body["plan"] != "standard" {
		t.Fatalf("instance b: %d %v", code, body)
	}
	if na, nb := len(listRequests(a.Proxy)), len(listRequests(b.Proxy)); na != 1 || nb != 0 {
		t.Fatalf("Stripe list requests: instance a %d, instance b %d; want 1 and 0", na, nb)
	}
}

// A user without a Stripe customer gets the free body without a Stripe call.
func TestUserWithoutCustomer(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "f@example.com")
	code, body := e.Post(t, e.Token(t, u, "f@example.com"), ``)
	if code != 200 || body["plan"] != "free" || body["subscribed"] != false {
		t.Fatalf("%d %v", code, body)
	}
	if n := len(e.Proxy.Requests("", "/v1/")); n != 0 {
		t.Fatalf("%d Stripe requests for a user without a customer", n)
	}
}

func TestRejects(t *testing.T) {
	side := &stripeSide{}
	token := strings.Repeat("r", 40)
	e := start(t, "pgx", side, map[string]string{"RECONCILE_TOKEN": token})
	u := e.DB.CreateUser(t, "x@example.com")
	tests := []struct {
		name, method, token, body, contentType string
		wantStatus                             int
		wantCode                               string
	}{
		{"no token", "POST", "", "", "", 401, "missing_token"},
		{"GET is not allowed", "GET", e.Token(t, u, "x@example.com"), "", "", 405, "method_not_allowed"},
		{"a wrong operator token is checked as a user token", "POST", strings.Repeat("s", 40), "", "", 401, "invalid_token"},
		{"the anon key", "POST", authtest.SignHS256(t, fntest.Secret, authtest.AnonKeyClaims("ref", nowUTC())), "", "", 401, "not_a_user_token"},
		{"user body not JSON", "POST", e.Token(t, u, "x@example.com"), "a=b", "text/plain", 415, "unsupported_media_type"},
		{"operator bad userId", "POST", token, `{"userId":"nope"}`, "", 400, "invalid_request"},
		{"operator bad apply", "POST", token, `{"apply":"yes"}`, "", 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.Do(t, fntest.Call{Method: tt.method, Token: tt.token, Body: tt.body, ContentType: tt.contentType})
			if code != tt.wantStatus || body["error"] != tt.wantCode {
				t.Fatalf("%d %v, want %d %s", code, body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	if n := len(e.Proxy.Requests("", "/v1/")); n != 0 {
		t.Fatalf("%d Stripe requests for rejected calls", n)
	}
}

// Operators call over HTTP with RECONCILE_TOKEN: a dry run by default,
// "apply": true writes; without RECONCILE_TOKEN configured the same bearer
// is only a (bad) user token.
func TestOperatorOverHTTP(t *testing.T) {
	side := &stripeSide{}
	token := strings.Repeat("k", 40)
	e := start(t, "pgx", side, map[string]string{"RECONCILE_TOKEN": token})
	u := e.DB.CreateUser(t, "o@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_o")
	side.set(fntest.Sub{ID: "sub_o", UserID: u, CustomerID: "cus_o"})

	code, body := e.Do(t, fntest.Call{Token: token})
	if code != 200 || body["mode"] != "dry_run" || body["checked"] != float64(1) || len(body["changes"].([]any)) != 1 {
		t.Fatalf("dry run: %d %v", code, body)
	}
	if got := accessOf(t, e, u); got.Subscribed {
		t.Fatal("the operator's dry run wrote")
	}
	code, body = e.Do(t, fntest.Call{Token: token, Body: `{"apply": true, "userId": "` + u + `"}`})
	if code != 200 || body["mode"] != "apply" || body["applied"] != float64(1) || body["scope"] != "user "+u {
		t.Fatalf("apply: %d %v", code, body)
	}
	if got := accessOf(t, e, u); !got.Subscribed {
		t.Fatal("the operator's apply did not write")
	}
	if ac, _ := json.Marshal(body["access_changed"]); string(ac) != `["`+u+`"]` {
		t.Fatalf("access_changed = %s", ac)
	}

	noToken := fntest.Start(t, reconcile.Spec, fntest.Options{DB: e.DB})
	code, body = noToken.Do(t, fntest.Call{Token: token})
	if code != 401 || body["error"] != "invalid_token" {
		t.Fatalf("without RECONCILE_TOKEN: %d %v", code, body)
	}
}

// RECONCILE_TOKEN is a secret: a short one stops the function at start.
func TestShortReconcileTokenRefused(t *testing.T) {
	cfg := fntest.DefaultEnv()
	cfg["DATABASE_URL"] = "postgres://localhost/x"
	cfg["RECONCILE_TOKEN"] = "short"
	if _, err := loadConfig(cfg); err == nil || !strings.Contains(err.Error(), "RECONCILE_TOKEN") {
		t.Fatalf("error = %v, want one naming RECONCILE_TOKEN", err)
	}
}

// The schedule's EventBridge event runs a full applied reconcile; a direct
// invocation's payload chooses (a dry run by default).
func TestScheduledAndDirectEvents(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "s@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_s")
	side.set(fntest.Sub{ID: "sub_s", UserID: u, CustomerID: "cus_s"})
	svc := reconcile.FromDeps(e.Deps)
	ctx := context.Background()

	out, err := svc.HandleEvent(ctx, json.RawMessage(`{"apply": false}`))
	if err != nil {
		t.Fatal(err)
	}
	if rep := out.(*reconcile.Report); rep.Mode != reconcile.ModeDryRun || len(rep.Changes) != 1 {
		t.Fatalf("direct dry run: %+v", rep)
	}
	scheduled := `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",
		"source":"aws.events","account":"123456789012","time":"2026-11-21T03:00:00Z","region":"ap-northeast-1",
		"resources":["arn:aws:events:ap-northeast-1:123456789012:rule/billing-reconcile-daily"],"detail":{}}`
	out, err = svc.HandleEvent(ctx, json.RawMessage(scheduled))
	if err != nil {
		t.Fatal(err)
	}
	if rep := out.(*reconcile.Report); rep.Mode != reconcile.ModeApply || rep.Applied != 1 || rep.Emails == nil {
		t.Fatalf("scheduled run: %+v", rep)
	}
	if got := accessOf(t, e, u); !got.Subscribed {
		t.Fatal("the scheduled run did not apply")
	}
	if _, err := svc.HandleEvent(ctx, json.RawMessage(`{"userId": "not-a-uuid"}`)); err == nil {
		t.Fatal("a bad payload was run")
	}
}

func countRows(t *testing.T, e *fntest.Env, sql string) int {
	t.Helper()
	var n int
	if err := e.DB.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMethodNotAllowedAllowHeader(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	req, _ := http.NewRequest(http.MethodGet, e.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 || !strings.Contains(res.Header.Get("Allow"), "POST") {
		t.Fatalf("%d Allow=%q", res.StatusCode, res.Header.Get("Allow"))
	}
}
