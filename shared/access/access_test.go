package access

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"billing/shared/plans"
)

// env is the fake environment of every test catalog: price_<plan>_<mode>.
func env(name string) string {
	rest, ok := strings.CutPrefix(name, "STRIPE_")
	if !ok {
		return ""
	}
	plan, mode, ok := strings.Cut(rest, "_PRICE_ID_")
	if !ok {
		return ""
	}
	return "price_" + strings.ToLower(plan) + "_" + strings.ToLower(mode)
}

// catalog parses the default catalog in test mode, with the past_due switch.
func catalog(t *testing.T, pastDueKeepsAccess bool) *plans.Catalog {
	t.Helper()
	doc := plans.DefaultJSON()
	if pastDueKeepsAccess {
		doc = bytes.Replace(doc, []byte(`"past_due_keeps_access": false`), []byte(`"past_due_keeps_access": true`), 1)
	}
	c, err := plans.Parse(doc, plans.ModeTest, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.PastDueKeepsAccess != pastDueKeepsAccess {
		t.Fatalf("PastDueKeepsAccess = %v, want %v", c.PastDueKeepsAccess, pastDueKeepsAccess)
	}
	return c
}

// example parses an example catalog in test mode.
func example(t *testing.T, name string) *plans.Catalog {
	t.Helper()
	doc, err := plans.Example(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := plans.Parse(doc, plans.ModeTest, env)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	created   = time.Date(2026, 10, 26, 9, 30, 0, 0, time.UTC)
	periodEnd = time.Date(2026, 12, 26, 0, 0, 0, 0, time.UTC)
	mid       = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) // well inside the period
)

func ptr[T any](v T) *T { return &v }

// want is the expected outcome of Compute in compact form; "" for planType,
// status, currentPeriodEnd and accessUntil means nil.
type want struct {
	subscribed                    bool
	plan, planType, status        string
	cancelAtPeriodEnd             bool
	currentPeriodEnd, accessUntil string
	entitlements, limits          string // the granted entitlements; the limits
}

// summary reduces a Result to its want form.
func summary(r Result) want {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	tm := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return FormatTime(*p)
	}
	var granted, limits []string
	for name, ok := range r.Entitlements {
		if ok {
			granted = append(granted, name)
		}
	}
	for name, v := range r.Limits {
		if v == nil {
			limits = append(limits, name+"=unlimited")
		} else {
			limits = append(limits, name+"="+strconv.Itoa(*v))
		}
	}
	slices.Sort(granted)
	slices.Sort(limits)
	return want{
		subscribed: r.Subscribed, plan: r.Plan, planType: str(r.PlanType), status: str(r.Status),
		cancelAtPeriodEnd: r.CancelAtPeriodEnd, currentPeriodEnd: tm(r.CurrentPeriodEnd), accessUntil: tm(r.AccessUntil),
		entitlements: strings.Join(granted, " "), limits: strings.Join(limits, " "),
	}
}

const (
	end       = "2026-12-26T00:00:00Z"
	both      = "learning_access member_access"
	free3     = "properties=3"
	std10     = "properties=10"
	unlimited = "properties=unlimited"
)

// sub returns an active standard subscription renewing normally.
func sub(change func(*Subscription)) Subscription {
	s := Subscription{ID: "sub_1", Status: StatusActive, Plan: "standard", PriceID: "price_standard_test",
		CurrentPeriodEnd: periodEnd, Created: created}
	if change != nil {
		change(&s)
	}
	return s
}

func TestComputeOneSubscription(t *testing.T) {
	cancelling := func(s *Subscription) { s.CancelAtPeriodEnd = true }
	status := func(st string) func(*Subscription) { return func(s *Subscription) { s.Status = st } }
	tests := []struct {
		name    string
		sub     Subscription
		pastDue bool
		now     time.Time
		want    want
	}{
		{"active", sub(nil), false, mid,
			want{true, "standard", "standard", "active", false, end, "", both, std10}},
		{"trialing", sub(status(StatusTrialing)), false, mid,
			want{true, "standard", "standard", "trialing", false, end, "", both, std10}},
		{"premium is unlimited", sub(func(s *Subscription) { s.Plan = "premium" }), false, mid,
			want{true, "premium", "premium", "active", false, end, "", both, unlimited}},
		{"active past period end while renewing", sub(nil), false, periodEnd.Add(time.Hour),
			want{true, "standard", "standard", "active", false, end, "", both, std10}},
		{"cancelling, one minute before period end", sub(cancelling), false, periodEnd.Add(-time.Minute),
			want{true, "standard", "standard", "active", true, end, end, both, std10}},
		{"cancelling, one second before period end", sub(cancelling), false, periodEnd.Add(-time.Second),
			want{true, "standard", "standard", "active", true, end, end, both, std10}},
		{"cancelling, exactly at period end", sub(cancelling), false, periodEnd,
			want{false, "free", "standard", "active", true, end, end, "", free3}},
		{"cancelling, one minute after period end", sub(cancelling), false, periodEnd.Add(time.Minute),
			want{false, "free", "standard", "active", true, end, end, "", free3}},
		{"cancelling trial, after its end", sub(func(s *Subscription) { cancelling(s); s.Status = StatusTrialing }), false, periodEnd.Add(time.Minute),
			want{false, "free", "standard", "trialing", true, end, end, "", free3}},
		{"cancelling, period end unknown", sub(func(s *Subscription) { cancelling(s); s.CurrentPeriodEnd = time.Time{} }), false, mid,
			want{true, "standard", "standard", "active", true, "", "", both, std10}},
		{"cancel_at without the flag, before", sub(func(s *Subscription) { s.CancelAt = ptr(mid.Add(time.Minute)) }), false, mid,
			want{true, "standard", "standard", "active", false, end, "2026-11-26T12:01:00Z", both, std10}},
		{"cancel_at without the flag, exactly at", sub(func(s *Subscription) { s.CancelAt = ptr(mid) }), false, mid,
			want{false, "free", "standard", "active", false, end, "2026-11-26T12:00:00Z", "", free3}},
		{"cancel_at without the flag, after", sub(func(s *Subscription) { s.CancelAt = ptr(mid.Add(-time.Minute)) }), false, mid,
			want{false, "free", "standard", "active", false, end, "2026-11-26T11:59:00Z", "", free3}},
		{"cancel_at earlier than period end wins", sub(func(s *Subscription) { cancelling(s); s.CancelAt = ptr(mid) }), false, mid.Add(time.Minute),
			want{false, "free", "standard", "active", true, end, "2026-11-26T12:00:00Z", "", free3}},
		{"period end earlier than cancel_at wins", sub(func(s *Subscription) { cancelling(s); s.CancelAt = ptr(periodEnd.Add(time.Hour)) }), false, periodEnd,
			want{false, "free", "standard", "active", true, end, end, "", free3}},
		{"zero cancel_at is no schedule", sub(func(s *Subscription) { s.CancelAt = ptr(time.Time{}) }), false, mid,
			want{true, "standard", "standard", "active", false, end, "", both, std10}},
		{"canceled", sub(status(StatusCanceled)), false, mid,
			want{false, "free", "standard", "canceled", false, end, "", "", free3}},
		{"canceled even with past_due switch", sub(status(StatusCanceled)), true, mid,
			want{false, "free", "standard", "canceled", false, end, "", "", free3}},
		{"past_due by default", sub(status(StatusPastDue)), false, mid,
			want{false, "free", "standard", "past_due", false, end, "", "", free3}},
		{"past_due with the switch", sub(status(StatusPastDue)), true, mid,
			want{true, "standard", "standard", "past_due", false, end, "", both, std10}},
		{"past_due with the switch, cancelled and ended", sub(func(s *Subscription) { cancelling(s); s.Status = StatusPastDue }), true, periodEnd,
			want{false, "free", "standard", "past_due", true, end, end, "", free3}},
		{"unpaid", sub(status(StatusUnpaid)), true, mid,
			want{false, "free", "standard", "unpaid", false, end, "", "", free3}},
		{"incomplete", sub(status(StatusIncomplete)), true, mid,
			want{false, "free", "standard", "incomplete", false, end, "", "", free3}},
		{"incomplete_expired", sub(status(StatusIncompleteExpired)), true, mid,
			want{false, "free", "standard", "incomplete_expired", false, end, "", "", free3}},
		{"paused", sub(status(StatusPaused)), true, mid,
			want{false, "free", "standard", "paused", false, end, "", "", free3}},
		{"unknown status", sub(status("canceling")), false, mid,
			want{false, "free", "standard", "canceling", false, end, "", "", free3}},
		{"empty status", sub(status("")), false, mid,
			want{false, "free", "standard", "", false, end, "", "", free3}},
		{"unknown plan", sub(func(s *Subscription) { s.Plan = "gold" }), false, mid,
			want{false, "free", "gold", "active", false, end, "", "", free3}},
		{"the free plan is not paid", sub(func(s *Subscription) { s.Plan = "free" }), false, mid,
			want{false, "free", "free", "active", false, end, "", "", free3}},
		{"plan from the price", sub(func(s *Subscription) { s.Plan = ""; s.PriceID = "price_premium_test" }), false, mid,
			want{true, "premium", "premium", "active", false, end, "", both, unlimited}},
		{"price of the other mode", sub(func(s *Subscription) { s.Plan = ""; s.PriceID = "price_premium_live" }), false, mid,
			want{false, "free", "", "active", false, end, "", "", free3}},
		{"no period end", sub(func(s *Subscription) { s.CurrentPeriodEnd = time.Time{} }), false, mid,
			want{true, "standard", "standard", "active", false, "", "", both, std10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := catalog(t, tt.pastDue)
			got := summary(Compute([]Subscription{tt.sub}, cat, tt.now))
			if got != tt.want {
				t.Errorf("Compute:\n got %+v\nwant %+v", got, tt.want)
			}
			if granted := Grants(tt.sub, cat, tt.now); granted != tt.want.subscribed {
				t.Errorf("Grants = %v, want %v", granted, tt.want.subscribed)
			}
		})
	}
}

func TestComputeNoSubscription(t *testing.T) {
	for name, subs := range map[string][]Subscription{"nil": nil, "empty": {}} {
		t.Run(name, func(t *testing.T) {
			r := Compute(subs, catalog(t, false), mid)
			got := summary(r)
			if w := (want{false, "free", "", "", false, "", "", "", free3}); got != w {
				t.Errorf("got %+v\nwant %+v", got, w)
			}
			if len(r.Entitlements) != 2 || r.Entitlements["member_access"] || r.Entitlements["learning_access"] {
				t.Errorf("Entitlements = %v, want both catalog entitlements false", r.Entitlements)
			}
		})
	}
}

// TestComputeHandsOutNoCatalogState: the catalog's plans are read without
// copies, so a result whose limits and entitlements a caller changes must
// not change the catalog: the next result is the same as the first.
func TestComputeHandsOutNoCatalogState(t *testing.T) {
	cat := catalog(t, false)
	for _, subs := range [][]Subscription{nil, {sub(nil)}} {
		first := Compute(subs, cat, mid)
		if len(first.Limits) == 0 || len(first.Entitlements) == 0 {
			t.Fatalf("result %+v has no limits or entitlements: the test proves nothing", first)
		}
		for name, v := range first.Limits {
			if v != nil {
				*v = 12345
			}
			first.Limits[name] = nil
		}
		first.Limits["extra"] = nil
		for name := range first.Entitlements {
			first.Entitlements[name] = true
		}
		again := Compute(subs, cat, mid)
		if _, ok := again.Limits["extra"]; ok {
			t.Fatal("a key added to a result's limits reached the catalog")
		}
		for name, v := range again.Limits {
			if v != nil && *v == 12345 {
				t.Fatalf("limit %s changed through an earlier result", name)
			}
		}
		if again.Plan == "free" && again.Entitlements["member_access"] {
			t.Fatal("an entitlement set in an earlier result reached the catalog")
		}
	}
}
