package access

import (
	"slices"
	"testing"
	"time"

	"billing/shared/plans"
)

// Only subscriptions of the catalog's Stripe mode count: a test-mode row
// (a 4242 card in a staging deployment sharing the database) never grants
// in a live deployment, and is not even shown.
func TestOtherModeNeverGrants(t *testing.T) {
	live, err := plans.Parse(plans.DefaultJSON(), plans.ModeLive, env)
	if err != nil {
		t.Fatal(err)
	}
	testRow := sub(nil) // Livemode false: a test-mode subscription
	liveRow := sub(func(s *Subscription) {
		s.ID, s.Livemode, s.Plan, s.Status = "sub_live", true, "premium", StatusCanceled
	})
	tests := []struct {
		name      string
		cat       *plans.Catalog
		subs      []Subscription
		plan      string
		shownPlan string
	}{
		{"test row, live deployment", live, []Subscription{testRow}, "free", ""},
		{"test row beside a canceled live one", live, []Subscription{testRow, liveRow}, "free", "premium"},
		{"test row, test deployment", catalog(t, false), []Subscription{testRow}, "standard", "standard"},
		{"live row, test deployment", catalog(t, false), []Subscription{sub(func(s *Subscription) { s.Livemode = true })}, "free", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Compute(tc.subs, tc.cat, mid)
			shown := ""
			if r.PlanType != nil {
				shown = *r.PlanType
			}
			if r.Plan != tc.plan || r.Subscribed != (tc.plan != "free") || shown != tc.shownPlan {
				t.Fatalf("plan %q subscribed %v shown %q; want %q shown %q", r.Plan, r.Subscribed, shown, tc.plan, tc.shownPlan)
			}
		})
	}
}

func TestGrantingListsEveryGrantingSubscriptionBestFirst(t *testing.T) {
	cat := catalog(t, false)
	longer := sub(func(s *Subscription) {
		s.ID, s.Plan, s.CurrentPeriodEnd = "sub_b", "premium", periodEnd.Add(24*time.Hour)
	})
	ending := sub(func(s *Subscription) { s.ID, s.CancelAtPeriodEnd = "sub_c", true })
	subs := []Subscription{ending, sub(nil), longer, sub(func(s *Subscription) { s.ID, s.Status = "sub_d", StatusCanceled }),
		sub(func(s *Subscription) { s.ID, s.Livemode = "sub_e", true })}
	got := Granting(subs, cat, mid)
	if want := []string{"sub_b", "sub_1", "sub_c"}; !slices.Equal(got, want) {
		t.Fatalf("Granting = %v, want %v", got, want)
	}
	if r := Compute(subs, cat, mid); r.Plan != "premium" {
		t.Fatalf("Compute takes %s, not the first of Granting", r.Plan)
	}
}
