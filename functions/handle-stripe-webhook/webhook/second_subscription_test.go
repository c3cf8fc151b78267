package webhook_test

import (
	"strings"
	"testing"
	"time"
)

// A second live subscription of one user (paid through two tabs, made in
// the Dashboard) is detected when its event is applied: an ERROR line
// names both, and access takes the better one.
func TestSecondLiveSubscriptionIsLoggedAtError(t *testing.T) {
	e := newEnv(t)
	createUser(t, e.db, user1, "u1@example.com")
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	a := activeSub("sub_tab_a", "cus_tabs", T)
	code, logs := e.deliverLogged(envelope("evt_tab_a", "customer.subscription.created", v2023, T, false, a.object(v2023)))
	if code != 200 || strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("one subscription: %d %s", code, logs)
	}
	b := activeSub("sub_tab_b", "cus_tabs", T.Add(time.Second))
	b.Price, b.PeriodEnd = pricePremium, a.PeriodEnd.Add(time.Hour)
	code, logs = e.deliverLogged(envelope("evt_tab_b", "customer.subscription.created", v2023, T.Add(time.Second), false, b.object(v2023)))
	if code != 200 || errorLines(logs, `"subscription_ids":["sub_tab_b","sub_tab_a"]`) != 1 || !strings.Contains(logs, user1) {
		t.Fatalf("second subscription: %d %s", code, logs)
	}
	if p := e.scalar(`select active_plan || ':' || active_subscription_id from profiles where id = $1`, user1); p != "premium:sub_tab_b" {
		t.Fatalf("snapshot %v", p)
	}
}
