package store_test

import (
	"slices"
	"testing"

	"billing/shared/plans"
	"billing/shared/store"
)

func TestInMode(t *testing.T) {
	st := store.UserState{Subscriptions: []store.SubscriptionRow{
		{ID: "sub_live_new", Livemode: true}, {ID: "sub_test"}, {ID: "sub_live_old", Livemode: true}}}
	ids := func(rows []store.SubscriptionRow) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		mode string
		want []string
	}{
		{plans.ModeLive, []string{"sub_live_new", "sub_live_old"}},
		{plans.ModeTest, []string{"sub_test"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			if got := ids(st.InMode(tt.mode)); !slices.Equal(got, tt.want) {
				t.Errorf("InMode(%s) = %v, want %v (order kept)", tt.mode, got, tt.want)
			}
		})
	}
	if got := (store.UserState{}).InMode(plans.ModeLive); len(got) != 0 {
		t.Errorf("no rows: %v", got)
	}
}
