package dbcontract_test

import (
	"context"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/access"
	"billing/shared/plans"
	"billing/shared/store"
)

// pastDueCatalog is a test-mode catalog with a cap of 3 properties on free
// and 10 on standard, and the given past_due setting.
func pastDueCatalog(t *testing.T, keeps bool) *plans.Catalog {
	t.Helper()
	v := "false"
	if keeps {
		v = "true"
	}
	doc := `{"free_plan": "free", "past_due_keeps_access": ` + v + `, "usage_time_zone": "Asia/Tokyo",
	  "counters": {"properties": {"kind": "cap"}},
	  "plans": [
	    {"id": "free", "name": "Free", "entitlements": [], "limits": {"properties": 3}},
	    {"id": "standard", "name": "Standard", "price_ids": {"test": "price_std_test", "live": "price_std_live"},
	     "entitlements": ["member_access"], "limits": {"properties": 10}}]}`
	c, err := plans.Parse([]byte(doc), plans.ModeTest, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPastDueSettingChangeReachesTheDatabase: a deploy that changes the
// catalog's past_due_keeps_access changes at once what check-subscription
// reports for a past_due user; the limit the database enforces and the
// profile's snapshot must follow when the catalog is synced, with no event
// of that user in between. Before, both kept the setting of the user's last
// event (turned off: consume_usage still allowed standard's 10 while
// check-subscription reported free's 3).
func TestPastDueSettingChangeReachesTheDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		before, after bool
	}{
		{"turned off", true, false},
		{"turned on", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := testdb.New(t)
			ctx := context.Background()
			before, after := pastDueCatalog(t, tt.before), pastDueCatalog(t, tt.after)
			beforeDoc, afterDoc := string(store.CatalogDocument(before)), string(store.CatalogDocument(after))
			syncCatalog(t, db, beforeDoc)
			// One user linked by user ID, one only through the profile's customer.
			linked, byCustomer, other := db.CreateUser(t, ""), db.CreateUser(t, ""), db.CreateUser(t, "")
			db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_pd2' where id = $1`, byCustomer)
			now := time.Now().UTC()
			for _, s := range []struct{ id, user, customer, status string }{
				{"sub_pd1", linked, "cus_pd1", "past_due"},
				{"sub_pd2", "", "cus_pd2", "past_due"},
				{"sub_ok", other, "cus_ok", "active"},
			} {
				var user any
				if s.user != "" {
					user = s.user
				}
				db.MustExec(t, `insert into public.subscriptions (id, user_id, customer_id, status, price_id, plan,
					current_period_end, stripe_created, state_at, livemode)
					values ($1, $2, $3, $4, 'price_std_test', 'standard', $5::timestamptz + interval '20 days',
					        $5::timestamptz - interval '10 days', $5, false)`, s.id, user, s.customer, s.status, now)
			}
			for _, u := range []string{linked, byCustomer, other} {
				db.MustExec(t, `select public.billing_refresh_user($1, $2::jsonb)`, u, beforeDoc)
			}

			syncCatalog(t, db, afterDoc) // the new deploy's first start

			subs := []access.Subscription{{ID: "sub_pd", Status: "past_due", Plan: "standard", PriceID: "price_std_test",
				CurrentPeriodEnd: now.Add(20 * 24 * time.Hour), Created: now.Add(-10 * 24 * time.Hour)}}
			want := access.Compute(subs, after, now) // what check-subscription reports
			wantLimit := *want.Limits["properties"]
			for _, u := range []string{linked, byCustomer} {
				got := usageCall(t, db, "get", u, "properties", now.Format(time.RFC3339))
				var plan string
				if err := db.Pool.QueryRow(ctx, `select active_plan from public.profiles where id = $1`, u).Scan(&plan); err != nil {
					t.Fatal(err)
				}
				if num(got.Limit) != wantLimit || plan != want.Plan {
					t.Errorf("user %s: database limit %v and snapshot plan %q; check-subscription reports %d and %q",
						u, num(got.Limit), plan, wantLimit, want.Plan)
				}
			}
			if got := usageCall(t, db, "get", other, "properties", now.Format(time.RFC3339)); num(got.Limit) != 10 {
				t.Errorf("the active user's limit %v, want standard's 10", num(got.Limit))
			}
			// The same catalog again changes nothing, and refreshes no one.
			if res := syncCatalog(t, db, afterDoc); res.Changed {
				t.Errorf("the same catalog synced again: %+v", res)
			}
		})
	}
}
