package access

import (
	"slices"
	"testing"
	"time"
)

func TestComputeSeveralSubscriptions(t *testing.T) {
	month := 30 * 24 * time.Hour
	oldCanceled := sub(func(s *Subscription) {
		s.ID, s.Status, s.Created, s.CurrentPeriodEnd = "sub_old", StatusCanceled, created.Add(-6*month), created.Add(-5*month)
	})
	newPremium := sub(func(s *Subscription) { s.ID, s.Plan, s.Created = "sub_new", "premium", created.Add(time.Hour) })
	renewingStd := sub(func(s *Subscription) { s.ID = "sub_renewing" })
	cancellingPremiumLater := sub(func(s *Subscription) {
		s.ID, s.Plan, s.CancelAtPeriodEnd, s.CurrentPeriodEnd, s.Created = "sub_cancelling", "premium", true, periodEnd.Add(month), created.Add(time.Hour)
	})
	cancellingStd := sub(func(s *Subscription) { s.ID, s.CancelAtPeriodEnd = "sub_c1", true })
	cancellingPremiumEarlier := sub(func(s *Subscription) {
		s.ID, s.Plan, s.CancelAtPeriodEnd, s.CurrentPeriodEnd = "sub_c2", "premium", true, periodEnd.Add(-time.Hour)
	})
	renewingPremiumShorter := sub(func(s *Subscription) {
		s.ID, s.Plan, s.CurrentPeriodEnd = "sub_short", "premium", periodEnd.Add(-24*time.Hour)
	})
	olderPremiumSameEnd := sub(func(s *Subscription) { s.ID, s.Plan, s.Created = "sub_older", "premium", created.Add(-time.Hour) })
	canceledStd := sub(func(s *Subscription) { s.ID, s.Status = "sub_x", StatusCanceled })
	pastDuePremium := sub(func(s *Subscription) {
		s.ID, s.Plan, s.Status, s.Created, s.CurrentPeriodEnd = "sub_pd", "premium", StatusPastDue, created.Add(month), periodEnd.Add(month)
	})
	expiredTrialSameCreated := sub(func(s *Subscription) {
		s.ID, s.Status, s.CancelAtPeriodEnd, s.CurrentPeriodEnd = "sub_trial", StatusTrialing, true, mid.Add(-time.Hour)
	})
	unknownPlanNewer := sub(func(s *Subscription) { s.ID, s.Plan, s.Created = "sub_gold", "gold", created.Add(month) })

	later := "2027-01-25T00:00:00Z"
	tests := []struct {
		name string
		subs []Subscription
		now  time.Time // zero means mid
		want want
	}{
		{"old canceled and new active", []Subscription{oldCanceled, newPremium}, time.Time{},
			want{true, "premium", "premium", "active", false, end, "", both, unlimited}},
		{"active beats a newer canceled", []Subscription{renewingStd, sub(func(s *Subscription) {
			s.ID, s.Plan, s.Status, s.Created = "sub_newer", "premium", StatusCanceled, created.Add(month)
		})}, time.Time{}, want{true, "standard", "standard", "active", false, end, "", both, std10}},
		{"renewing beats cancelling with a later end", []Subscription{cancellingPremiumLater, renewingStd}, time.Time{},
			want{true, "standard", "standard", "active", false, end, "", both, std10}},
		{"of two cancelling the later end wins", []Subscription{cancellingPremiumLater, cancellingStd}, time.Time{},
			want{true, "premium", "premium", "active", true, later, later, both, unlimited}},
		{"of two cancelling the later end wins, other order of plans", []Subscription{cancellingPremiumEarlier, cancellingStd}, time.Time{},
			want{true, "standard", "standard", "active", true, end, end, both, std10}},
		{"of two cancelling one has ended", []Subscription{cancellingPremiumEarlier, cancellingStd}, periodEnd.Add(-time.Minute),
			want{true, "standard", "standard", "active", true, end, end, both, std10}},
		{"of two cancelling both have ended: most recent shown", []Subscription{cancellingPremiumLater, cancellingStd}, periodEnd.Add(month),
			want{false, "free", "premium", "active", true, later, later, "", free3}},
		{"of two renewing the later period end wins", []Subscription{renewingPremiumShorter, renewingStd}, time.Time{},
			want{true, "standard", "standard", "active", false, end, "", both, std10}},
		{"same period end: the later created wins", []Subscription{olderPremiumSameEnd, renewingStd}, time.Time{},
			want{true, "standard", "standard", "active", false, end, "", both, std10}},
		{"none granting: the most recent is shown", []Subscription{oldCanceled, pastDuePremium, canceledStd}, time.Time{},
			want{false, "free", "premium", "past_due", false, later, "", "", free3}},
		{"none granting, same created: the later period end is shown", []Subscription{expiredTrialSameCreated, canceledStd}, time.Time{},
			want{false, "free", "standard", "canceled", false, end, "", "", free3}},
		{"unknown plan newer than a granting one", []Subscription{unknownPlanNewer, renewingStd}, time.Time{},
			want{true, "standard", "standard", "active", false, end, "", both, std10}},
		{"unknown plan newest and nothing granting", []Subscription{unknownPlanNewer, oldCanceled}, time.Time{},
			want{false, "free", "gold", "active", false, end, "", "", free3}},
	}
	cat := catalog(t, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = mid
			}
			for _, order := range [][]Subscription{tt.subs, reversed(tt.subs)} {
				got := summary(Compute(order, cat, now))
				if got != tt.want {
					t.Errorf("order %v:\n got %+v\nwant %+v", ids(order), got, tt.want)
				}
			}
		})
	}
}

func TestComputeDoesNotAliasInput(t *testing.T) {
	cat := catalog(t, false)
	subs := []Subscription{sub(func(s *Subscription) { s.CancelAt = ptr(periodEnd) })}
	r := Compute(subs, cat, mid)
	subs[0].Status = StatusCanceled
	subs[0].CurrentPeriodEnd = time.Time{}
	*subs[0].CancelAt = time.Time{}
	if *r.Status != StatusActive || r.CurrentPeriodEnd.IsZero() || !r.AccessUntil.Equal(periodEnd) {
		t.Errorf("result changed with its input: %+v", summary(r))
	}
	*r.Limits["properties"] = 1
	if again := Compute(nil, cat, mid); *again.Limits["properties"] != 3 {
		t.Error("changing a result changed the catalog")
	}
}

func reversed(subs []Subscription) []Subscription {
	out := slices.Clone(subs)
	slices.Reverse(out)
	return out
}

func ids(subs []Subscription) []string {
	var out []string
	for _, s := range subs {
		out = append(out, s.ID)
	}
	return out
}
