package reconcile_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
	"billing/shared/httpkit"
)

// The done-when drift case: the database says active and Stripe canceled,
// and the reverse; the dry run finds both (and a subscription the database
// never heard of) without writing, --apply fixes them through the SQL path,
// and a second run finds nothing. Over both data paths, with Stripe's list
// in pages of two.
func TestDriftFoundByDryRunFixedByApply(t *testing.T) {
	for _, path := range []string{"pgx", "rest"} {
		t.Run(path, func(t *testing.T) {
			side := &stripeSide{pageSize: 2}
			e := start(t, path, side, nil)
			db := e.DB
			ctx := context.Background()

			paidGone := db.CreateUser(t, "a@example.com")   // DB active, Stripe canceled
			paidMissed := db.CreateUser(t, "b@example.com") // DB canceled, Stripe active
			inSync := db.CreateUser(t, "c@example.com")     // same on both sides
			neverHeard := db.CreateUser(t, "d@example.com") // only Stripe knows the subscription
			scheduled := db.CreateUser(t, "e@example.com")  // a missed cancel at period end
			for u, c := range map[string]string{paidGone: "cus_a", paidMissed: "cus_b", inSync: "cus_c", neverHeard: "cus_d", scheduled: "cus_e"} {
				fntest.LinkCustomer(t, db, u, c)
			}
			fntest.InsertSubscription(t, db, fntest.Sub{ID: "sub_a", UserID: paidGone, CustomerID: "cus_a"})
			fntest.InsertSubscription(t, db, fntest.Sub{ID: "sub_b", UserID: paidMissed, CustomerID: "cus_b", Status: "canceled"})
			c := fntest.InsertSubscription(t, db, fntest.Sub{ID: "sub_c", UserID: inSync, CustomerID: "cus_c", Plan: "premium"})
			s := fntest.InsertSubscription(t, db, fntest.Sub{ID: "sub_e", UserID: scheduled, CustomerID: "cus_e"})
			side.set(
				fntest.Sub{ID: "sub_e", UserID: scheduled, CustomerID: "cus_e", PeriodEnd: s.PeriodEnd, CancelAtPeriodEnd: true},
				fntest.Sub{ID: "sub_d", UserID: neverHeard, CustomerID: "cus_d"},
				fntest.Sub{ID: "sub_c", UserID: inSync, CustomerID: "cus_c", Plan: "premium", PeriodEnd: c.PeriodEnd},
				fntest.Sub{ID: "sub_b", UserID: paidMissed, CustomerID: "cus_b"},
				fntest.Sub{ID: "sub_a", UserID: paidGone, CustomerID: "cus_a", Status: "canceled"},
			)
			r := reconciler(e)
			if got := accessOf(t, e, paidGone); !got.Subscribed {
				t.Fatalf("setup: %s should have access before the run", paidGone)
			}

			before := dbDigest(t, db)
			var progress []reconcile.Progress
			dry, err := r.Run(ctx, reconcile.Options{Progress: func(p reconcile.Progress) { progress = append(progress, p) }})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"sub_a": "status", "sub_b": "status", "sub_d": "new", "sub_e": "cancel_at_period_end"}
			if got := changeKinds(dry); !equalMaps(got, want) {
				t.Fatalf("dry run changes = %v, want %v", got, want)
			}
			if dry.Mode != reconcile.ModeDryRun || dry.Checked != 5 || dry.Applied != 0 || dry.Emails != nil || !dry.OK() {
				t.Fatalf("dry run report = %+v", dry)
			}
			// sub_e keeps access until its period end, so only three users' access changes.
			wantUsers := []string{paidGone, paidMissed, neverHeard}
			slices.Sort(wantUsers)
			if !slices.Equal(dry.AccessChanged, wantUsers) {
				t.Fatalf("dry run access_changed = %v, want %v", dry.AccessChanged, wantUsers)
			}
			if after := dbDigest(t, db); after != before {
				t.Fatalf("the dry run wrote to the database:\n%s\n%s", before, after)
			}
			if len(progress) != 3 || progress[2].Checked != 5 {
				t.Fatalf("progress = %+v, want one call per page of 2", progress)
			}
			lists := listRequests(e.Proxy)
			if len(lists) != 3 {
				t.Fatalf("list requests = %d, want 3 pages", len(lists))
			}
			for i, req := range lists {
				if req.Form.Get("status") != "all" || req.Form.Get("limit") != "100" {
					t.Errorf("page %d asked %v, want status=all limit=100", i, req.Form)
				}
				if wantAfter := []string{"", "sub_d", "sub_b"}[i]; req.Form.Get("starting_after") != wantAfter {
					t.Errorf("page %d starting_after = %q, want %q", i, req.Form.Get("starting_after"), wantAfter)
				}
			}

			applied, err := r.Run(ctx, reconcile.Options{Apply: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := changeKinds(applied); !equalMaps(got, want) || applied.Applied != 4 || !applied.OK() {
				t.Fatalf("apply report = %+v", applied)
			}
			if !slices.Equal(applied.AccessChanged, wantUsers) {
				t.Fatalf("apply access_changed = %v, want %v", applied.AccessChanged, wantUsers)
			}
			for _, c := range applied.Changes {
				if c.Result != "applied" {
					t.Errorf("%s: result %q", c.SubscriptionID, c.Result)
				}
			}
			// Emails of the new states went through the outbox (logged: no SendGrid key).
			if applied.Emails == nil || applied.Emails.Logged == 0 || applied.Emails.Failed != 0 {
				t.Errorf("emails = %+v, want the new states' emails logged", applied.Emails)
			}
			checks := []struct {
				user, plan string
				subscribed bool
			}{{paidGone, "free", false}, {paidMissed, "standard", true}, {inSync, "premium", true},
				{neverHeard, "standard", true}, {scheduled, "standard", true}}
			for _, ck := range checks {
				got := accessOf(t, e, ck.user)
				if got.Plan != ck.plan || got.Subscribed != ck.subscribed {
					t.Errorf("user %s: plan %s subscribed %v, want %s %v", ck.user, got.Plan, got.Subscribed, ck.plan, ck.subscribed)
				}
			}
			if got := accessOf(t, e, scheduled); !got.CancelAtPeriodEnd || got.AccessUntil == nil {
				t.Errorf("scheduled cancel not stored: %+v", got)
			}
			if st := fntest.ReadSubscription(t, db, "sub_d"); st.UserID == nil || *st.UserID != neverHeard {
				t.Errorf("sub_d stored for user %v, want %s", st.UserID, neverHeard)
			}

			again, err := r.Run(ctx, reconcile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Changes) != 0 || len(again.AccessChanged) != 0 || again.Checked != 5 {
				t.Fatalf("second run found %+v", again)
			}
		})
	}
}

// A stored state newer than Stripe's answer (a webhook arrived after the
// list was read) is neither reported nor overwritten.
func TestNewerStoredStateWins(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "n@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_n")
	fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_n", UserID: u, CustomerID: "cus_n", Status: "canceled",
		StateAt: time.Now().Add(time.Hour)})
	side.set(fntest.Sub{ID: "sub_n", UserID: u, CustomerID: "cus_n"})
	for _, apply := range []bool{false, true} {
		rep, err := reconciler(e).Run(context.Background(), reconcile.Options{Apply: apply})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Changes) != 0 || rep.Stale != 1 {
			t.Fatalf("apply=%v: report %+v, want no change and one stale", apply, rep)
		}
	}
	if st := fntest.ReadSubscription(t, e.DB, "sub_n"); st.Status != "canceled" {
		t.Fatalf("status = %s, the newer stored state was overwritten", st.Status)
	}
}

// Stored subscriptions that Stripe's list leaves out are retrieved one by
// one: one Stripe knows (created while the list was read) is compared like
// any other; one Stripe does not know is reported and left alone.
func TestStoredButNotListed(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "m@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_m")
	late := fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_late", UserID: u, CustomerID: "cus_m"})
	fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_gone", UserID: u, CustomerID: "cus_m"})
	fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_old", UserID: u, CustomerID: "cus_m", Status: "canceled"})
	side.set() // the list is empty...
	e.Proxy.Rewrite(http.MethodGet, "/v1/subscriptions/sub_late", func(req stripetest.Request, body map[string]any) {
		fill(req, body, withDefaults(fntest.Sub{ID: "sub_late", UserID: u, CustomerID: "cus_m", PeriodEnd: late.PeriodEnd}), false)
	}) // ...but sub_late exists,
	e.Proxy.Fail(http.MethodGet, "/v1/subscriptions/sub_gone", http.StatusNotFound,
		map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such subscription: 'sub_gone'"})

	for _, apply := range []bool{false, true} {
		rep, err := reconciler(e).Run(context.Background(), reconcile.Options{Apply: apply})
		if err != nil {
			t.Fatal(err)
		}
		if got := changeKinds(rep); !equalMaps(got, map[string]string{"sub_gone": "missing_in_stripe"}) {
			t.Fatalf("apply=%v: changes %v", apply, got)
		}
		if apply && rep.Changes[0].Result != "left" {
			t.Errorf("result = %q, want left", rep.Changes[0].Result)
		}
	}
	if n := e.Proxy.Count(http.MethodGet, "/v1/subscriptions/sub_old"); n != 0 {
		t.Errorf("a canceled stored subscription was retrieved %d times", n)
	}
	if st := fntest.ReadSubscription(t, e.DB, "sub_gone"); st.Status != "active" {
		t.Errorf("sub_gone changed to %s", st.Status)
	}
}

// A subscription whose price the catalog does not know is an item error:
// the run goes on with the others and reports it.
func TestUnknownPriceIsReported(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	u := e.DB.CreateUser(t, "p@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_p")
	side.set(fntest.Sub{ID: "sub_other", CustomerID: "cus_x", PriceID: "price_of_another_product"},
		fntest.Sub{ID: "sub_p", UserID: u, CustomerID: "cus_p"})
	rep, err := reconciler(e).Run(context.Background(), reconcile.Options{Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Errors) != 1 || rep.Errors[0].SubscriptionID != "sub_other" {
		t.Fatalf("errors = %+v", rep.Errors)
	}
	if got := changeKinds(rep); !equalMaps(got, map[string]string{"sub_p": "new"}) || rep.Applied != 1 {
		t.Fatalf("changes = %v applied %d", got, rep.Applied)
	}
	// The schedule's invocation fails so that the error metric alarms.
	_, err = reconcile.FromDeps(e.Deps).HandleEvent(context.Background(), []byte(`{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}`))
	if err == nil {
		t.Fatal("HandleEvent succeeded with an unknown price")
	}
}

// Stripe failing stops the run with Stripe's error.
func TestStripeOutageStopsTheRun(t *testing.T) {
	side := &stripeSide{}
	e := start(t, "pgx", side, nil)
	e.Proxy.Fail(http.MethodGet, "/v1/subscriptions", http.StatusInternalServerError,
		map[string]any{"type": "api_error", "message": "An unknown error occurred"})
	_, err := reconciler(e).Run(context.Background(), reconcile.Options{Apply: true})
	if err == nil {
		t.Fatal("the run succeeded while Stripe failed")
	}
	var herr *httpkit.Error
	if !errors.As(err, &herr) || herr.Status != http.StatusBadGateway || herr.Code != httpkit.CodeStripeError {
		t.Fatalf("error = %v, want 502 stripe_error", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
