package reconcile_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/functions/check-subscription/checksub"
	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
	"billing/internal/testdb"
	"billing/shared/access"
	"billing/shared/config"
)

// stripeSide is the state Stripe holds in a test: the subscriptions the
// proxy answers list and retrieve requests with (stripe-mock is stateless),
// newest first as Stripe lists them, pageSize per page.
type stripeSide struct {
	mu       sync.Mutex
	subs     []fntest.Sub
	pageSize int
	// recent are subscriptions created a minute ago (a checkout just
	// made); the others were created 40 days ago.
	recent map[string]bool
}

// set replaces Stripe's subscriptions.
func (s *stripeSide) set(subs ...fntest.Sub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = nil
	for _, sub := range subs {
		s.subs = append(s.subs, withDefaults(sub))
	}
}

func withDefaults(s fntest.Sub) fntest.Sub {
	if s.CustomerID == "" {
		s.CustomerID = "cus_" + s.ID
	}
	if s.Status == "" {
		s.Status = "active"
	}
	if s.Plan == "" {
		s.Plan = "standard"
	}
	if s.PriceID == "" {
		s.PriceID = map[string]string{"standard": fntest.StandardPrice, "premium": fntest.PremiumPrice}[s.Plan]
	}
	if s.PeriodEnd.IsZero() {
		s.PeriodEnd = fntest.DefaultPeriodEnd
	}
	return s
}

// serve makes the proxy answer GET /v1/subscriptions (filtered by
// customer, paged with starting_after and has_more) and GET
// /v1/subscriptions/{id} from s.
func (s *stripeSide) serve(t testing.TB, p *stripetest.Proxy) {
	t.Helper()
	if s.pageSize == 0 {
		s.pageSize = 100
	}
	p.Rewrite(http.MethodGet, "/v1/subscriptions", func(req stripetest.Request, body map[string]any) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if req.Path != "/v1/subscriptions" {
			id := strings.TrimPrefix(req.Path, "/v1/subscriptions/")
			for _, sub := range s.subs {
				if sub.ID == id {
					fill(req, body, sub, s.recent[sub.ID])
				}
			}
			return
		}
		data, _ := body["data"].([]any)
		if len(data) == 0 {
			t.Errorf("stripe-mock listed no subscription to use as a template")
			return
		}
		template, _ := json.Marshal(data[0])
		var match []fntest.Sub
		for _, sub := range s.subs {
			if c := req.Form.Get("customer"); c == "" || c == sub.CustomerID {
				match = append(match, sub)
			}
		}
		if after := req.Form.Get("starting_after"); after != "" {
			i := slices.IndexFunc(match, func(x fntest.Sub) bool { return x.ID == after })
			if i < 0 {
				t.Errorf("starting_after %s is not a listed subscription", after)
				return
			}
			match = match[i+1:]
		}
		more := len(match) > s.pageSize
		if more {
			match = match[:s.pageSize]
		}
		out := []any{}
		for _, sub := range match {
			var obj map[string]any
			_ = json.Unmarshal(template, &obj)
			fill(req, obj, sub, s.recent[sub.ID])
			out = append(out, obj)
		}
		body["data"], body["has_more"], body["url"] = out, more, "/v1/subscriptions"
	})
}

// fill writes sub into a subscription object as Stripe would answer it.
func fill(req stripetest.Request, obj map[string]any, sub fntest.Sub, recent bool) {
	created := time.Now().Add(-40 * 24 * time.Hour).UTC().Truncate(time.Second)
	if recent {
		created = time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	}
	stripetest.SetSubscription(req, obj, stripetest.Subscription{ID: sub.ID, CustomerID: sub.CustomerID,
		Status: sub.Status, PriceID: sub.PriceID, UserID: sub.UserID,
		CurrentPeriodStart: sub.PeriodEnd.AddDate(0, -1, 0), CurrentPeriodEnd: sub.PeriodEnd,
		CancelAt: sub.CancelAt, Created: created})
	obj["cancel_at_period_end"] = sub.CancelAtPeriodEnd
	if sub.Status == "canceled" {
		obj["canceled_at"], obj["ended_at"] = created.Add(time.Hour).Unix(), created.Add(time.Hour).Unix()
	}
}

// start runs the function over a data path with Stripe's state served by
// the proxy.
func start(t *testing.T, path string, side *stripeSide, env map[string]string) *fntest.Env {
	t.Helper()
	e := fntest.Start(t, reconcile.Spec, fntest.Options{Path: path, Env: env})
	side.serve(t, e.Proxy)
	return e
}

// reconciler is the Reconciler the function runs, built from its deps.
func reconciler(e *fntest.Env) *reconcile.Reconciler {
	return reconcile.FromDeps(e.Deps).Reconciler
}

// accessOf is what check-subscription answers the user now.
func accessOf(t *testing.T, e *fntest.Env, userID string) access.Result {
	t.Helper()
	res, err := checksub.Compute(context.Background(), e.Deps.Store, e.Deps.Catalog, userID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// dbDigest summarizes every billing table, to show that a dry run writes
// nothing.
func dbDigest(t *testing.T, db *testdb.DB) string {
	t.Helper()
	var out string
	err := db.Pool.QueryRow(context.Background(), `select concat_ws('|',
		(select md5(coalesce(string_agg(row_to_json(s)::text, ',' order by s.id), '')) from public.subscriptions s),
		(select md5(coalesce(string_agg(row_to_json(p)::text, ',' order by p.id), '')) from public.profiles p),
		(select count(*) from public.stripe_events),
		(select count(*) from public.email_outbox),
		(select count(*) from public.billing_held_emails))`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// changeKinds maps each changed subscription to its kinds, joined.
func changeKinds(rep *reconcile.Report) map[string]string {
	out := map[string]string{}
	for _, c := range rep.Changes {
		out[c.SubscriptionID] = strings.Join(c.Kinds, ",")
	}
	return out
}

// listRequests are the recorded list requests (not retrieves).
func listRequests(p *stripetest.Proxy) []stripetest.Request {
	var out []stripetest.Request
	for _, r := range p.Requests(http.MethodGet, "/v1/subscriptions") {
		if r.Path == "/v1/subscriptions" {
			out = append(out, r)
		}
	}
	return out
}

func nowUTC() time.Time { return time.Now().UTC() }

// loadConfig loads the function's configuration from env.
func loadConfig(env map[string]string) (*config.Config, error) {
	return config.Load(func(k string) string { return env[k] }, reconcile.Spec.Needs)
}
