package access

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// TestExampleCatalogs runs every plan of the three example catalogs through
// Compute: an active subscription to the plan gives exactly the access the
// seed documents describe, and so does having no subscription (free plan).
func TestExampleCatalogs(t *testing.T) {
	type row struct {
		plan       string
		subscribed bool
		granted    []string // entitlements that must be true; all others false
		limits     string
	}
	tests := []struct {
		example string
		all     []string // every entitlement of the catalog
		rows    []row
	}{
		{"race-data", []string{"race_10r_12r", "race_11r", "race_1r_9r", "race_detail"}, []row{
			{"", false, []string{"race_11r"}, ""},
			{"free", false, []string{"race_11r"}, ""},
			{"standard", true, []string{"race_10r_12r", "race_11r", "race_detail"}, ""},
			{"premium", true, []string{"race_10r_12r", "race_11r", "race_1r_9r", "race_detail"}, ""},
		}},
		{"real-estate", []string{"simulation"}, []row{
			{"", false, []string{"simulation"}, "monthly_count=3 properties=3"},
			{"basic", true, []string{"simulation"}, "monthly_count=10 properties=10"},
			{"premium", true, []string{"simulation"}, "monthly_count=unlimited properties=unlimited"},
			{"standard", false, []string{"simulation"}, "monthly_count=3 properties=3"}, // not a plan of this app
		}},
		{"learning-community", []string{"learning_access", "member_access"}, []row{
			{"", false, nil, ""},
			{"standard", true, []string{"learning_access", "member_access"}, ""},
			{"growth", true, []string{"learning_access", "member_access"}, ""},
			{"community", true, []string{"member_access"}, ""},
			{"feedback", true, []string{"learning_access", "member_access"}, ""},
			{"premium", false, nil, ""}, // not a plan of this app
		}},
	}
	for _, tt := range tests {
		cat := example(t, tt.example)
		for _, r := range tt.rows {
			name := r.plan
			if name == "" {
				name = "no subscription"
			}
			t.Run(tt.example+"/"+name, func(t *testing.T) {
				var subs []Subscription
				if r.plan != "" {
					subs = []Subscription{sub(func(s *Subscription) { s.Plan, s.PriceID = r.plan, "" })}
				}
				res := Compute(subs, cat, mid)
				got := summary(res)
				if got.subscribed != r.subscribed {
					t.Errorf("subscribed = %v, want %v", got.subscribed, r.subscribed)
				}
				wantPlan := r.plan
				if !r.subscribed {
					wantPlan = "free"
				}
				if res.Plan != wantPlan {
					t.Errorf("plan = %q, want %q", res.Plan, wantPlan)
				}
				if keys := slices.Sorted(maps.Keys(res.Entitlements)); !slices.Equal(keys, tt.all) {
					t.Errorf("entitlement keys = %v, want every catalog entitlement %v", keys, tt.all)
				}
				for _, e := range tt.all {
					if want := slices.Contains(r.granted, e); res.Entitlements[e] != want {
						t.Errorf("entitlement %s = %v, want %v", e, res.Entitlements[e], want)
					}
				}
				if got.limits != r.limits {
					t.Errorf("limits = %q, want %q", got.limits, r.limits)
				}
			})
		}
	}
}

// TestLearningCommunityAfterCancel is seed 003's scenario: a feedback
// subscription cancelled at period end keeps member and learning access
// until current_period_end, to the minute.
func TestLearningCommunityAfterCancel(t *testing.T) {
	cat := example(t, "learning-community")
	s := sub(func(s *Subscription) {
		s.Plan, s.PriceID, s.CancelAtPeriodEnd = "feedback", "price_feedback_test", true
	})
	tests := []struct {
		name   string
		offset int // minutes from the period end
		access bool
	}{
		{"one minute before", -1, true},
		{"at the end", 0, false},
		{"one minute after", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compute([]Subscription{s}, cat, periodEnd.Add(minutes(tt.offset)))
			if r.Subscribed != tt.access || r.Entitlements["member_access"] != tt.access || r.Entitlements["learning_access"] != tt.access {
				t.Errorf("subscribed %v, entitlements %v; want access %v", r.Subscribed, r.Entitlements, tt.access)
			}
			if *r.PlanType != "feedback" || !r.CancelAtPeriodEnd || !r.AccessUntil.Equal(periodEnd) {
				t.Errorf("shown %+v", summary(r))
			}
		})
	}
}

func minutes(n int) time.Duration { return time.Duration(n) * time.Minute }
