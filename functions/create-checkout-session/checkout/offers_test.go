package checkout_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"billing/functions/create-checkout-session/checkout"
	"billing/internal/stripetest/fntest"
	"billing/shared/store"
)

// trialCatalog is a catalog whose "pro" plan has a 14-day trial; extra is
// added to its top level.
func trialCatalog(t *testing.T, extra string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "plans.json")
	doc := `{"free_plan":"free",` + extra + `"plans":[{"id":"free"},
		{"id":"pro","price_ids":{"test":"price_pro_test"},"trial_days":14}]}`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestTrialOncePerUser: the plan's trial goes only to a user who never had
// a trial or a paid subscription, whatever trial_days says.
func TestTrialOncePerUser(t *testing.T) {
	e := startCheckout(t, fntest.Options{Env: map[string]string{"BILLING_PLANS_FILE": trialCatalog(t, "")}})
	past := time.Now().Add(-60 * 24 * time.Hour).UTC().Truncate(time.Second)
	tests := []struct {
		name      string
		status    string // "" for no earlier subscription
		trialEnd  bool
		otherMode bool // the earlier subscription is of the other Stripe mode
		wantTrial string
	}{
		{"a new user gets the trial", "", false, false, "14"},
		{"canceled a paid subscription and comes back: no second trial", "canceled", false, false, ""},
		{"canceled after a trial: no second trial", "canceled", true, false, ""},
		{"a trial that ended unpaid: no second trial", "incomplete_expired", true, false, ""},
		{"only a checkout that never paid: the trial", "incomplete_expired", false, false, "14"},
		{"a trial in the other Stripe mode only: the trial", "canceled", true, true, "14"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := e.DB.CreateUser(t, "")
			if tt.status != "" {
				id := "sub_trial" + string(rune('a'+i))
				fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: id, UserID: user, Status: tt.status,
					Plan: "pro", PriceID: "price_pro_test", PeriodEnd: past, Livemode: tt.otherMode})
				fntest.LinkCustomer(t, e.DB, user, "cus_"+id)
				if tt.trialEnd {
					e.DB.MustExec(t, `update public.subscriptions set trial_start = $2::timestamptz - interval '14 days', trial_end = $2 where id = $1`, id, past)
				}
			}
			e.Proxy.Reset()
			if code, body := e.Post(t, e.Token(t, user, ""), `{"plan":"pro"}`); code != http.StatusOK {
				t.Fatalf("%d %v", code, body)
			}
			s := e.Proxy.Requests(http.MethodPost, "/v1/checkout/sessions")
			if len(s) != 1 {
				t.Fatalf("sessions %d", len(s))
			}
			if got := s[0].Form.Get("subscription_data[trial_period_days]"); got != tt.wantTrial {
				t.Errorf("trial_period_days = %q, want %q", got, tt.wantTrial)
			}
		})
	}
}

func TestPromotionCodes(t *testing.T) {
	tests := []struct {
		name, catalogExtra, body, want string
	}{
		{"off by default", "", `{"plan":"pro"}`, ""},
		{"the request turns it on", "", `{"plan":"pro","promotionCodes":true}`, "true"},
		{"false in the request stays off", "", `{"plan":"pro","promotionCodes":false}`, ""},
		{"the catalog turns it on", `"allow_promotion_codes":true,`, `{"plan":"pro"}`, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startCheckout(t, fntest.Options{Env: map[string]string{"BILLING_PLANS_FILE": trialCatalog(t, tt.catalogExtra)}})
			user := e.DB.CreateUser(t, "")
			if code, body := e.Post(t, e.Token(t, user, ""), tt.body); code != http.StatusOK {
				t.Fatalf("%d %v", code, body)
			}
			s := e.Proxy.Requests(http.MethodPost, "/v1/checkout/sessions")[0]
			if got := s.Form.Get("allow_promotion_codes"); got != tt.want {
				t.Errorf("allow_promotion_codes = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("promotionCodes of the wrong type is 400", func(t *testing.T) {
		e := startCheckout(t, fntest.Options{Env: map[string]string{"BILLING_PLANS_FILE": trialCatalog(t, "")}})
		user := e.DB.CreateUser(t, "")
		e.CheckReject(t, fntest.Call{Token: e.Token(t, user, ""), Body: `{"plan":"pro","promotionCodes":"yes"}`}, 400, "invalid_request")
	})
}

func TestTrialEligible(t *testing.T) {
	end := time.Now()
	tests := []struct {
		name string
		subs []store.SubscriptionRow
		want bool
	}{
		{"none", nil, true},
		{"incomplete only", []store.SubscriptionRow{{Status: "incomplete"}, {Status: "incomplete_expired"}}, true},
		{"an incomplete one with a trial end", []store.SubscriptionRow{{Status: "incomplete_expired", TrialEnd: &end}}, false},
		{"canceled", []store.SubscriptionRow{{Status: "canceled"}}, false},
		{"active", []store.SubscriptionRow{{Status: "active"}}, false},
		{"unpaid", []store.SubscriptionRow{{Status: "unpaid"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkout.TrialEligible(tt.subs); got != tt.want {
				t.Errorf("TrialEligible = %v, want %v", got, tt.want)
			}
		})
	}
}
