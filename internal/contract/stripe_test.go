package contract

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/internal/ops"
	"billing/internal/stripetest"
)

// stripeSubs is what the contract's Stripe knows of the subscriptions the
// suite made: subscription ID -> user, and whether a cancel is scheduled.
var stripeSubs = struct {
	sync.Mutex
	user   map[string]string
	cancel map[string]bool
}{user: map[string]string{}, cancel: map[string]bool{}}

// knowSubscription tells the contract's Stripe that user's default
// subscription (ops.DefaultSubscriptionID) exists, on the standard price.
func knowSubscription(user string) {
	stripeSubs.Lock()
	defer stripeSubs.Unlock()
	stripeSubs.user[ops.DefaultSubscriptionID(user)] = user
}

// stripeBase is the STRIPE_API_BASE of both targets: stripe-mock behind the
// recording proxy, which still validates every request, with the answers
// about a subscription the suite made rewritten to that subscription (its
// customer, the catalog's standard price, a current period, and the cancel
// flag the last update set), as Stripe would answer. stripe-mock alone
// answers with a fixture price the catalog does not know, which billing
// refuses as a switch to an unknown price.
func stripeBase(t testing.TB) string {
	p := stripetest.NewProxy(t, stripetest.MockURL(t))
	rewrite := func(req stripetest.Request, body map[string]any) {
		id := strings.TrimPrefix(req.Path, "/v1/subscriptions/")
		stripeSubs.Lock()
		user, ok := stripeSubs.user[id]
		if ok && req.Method == "POST" && req.Form.Has("cancel_at_period_end") {
			stripeSubs.cancel[id] = req.Form.Get("cancel_at_period_end") == "true"
		}
		cancel := stripeSubs.cancel[id]
		stripeSubs.Unlock()
		if !ok {
			return
		}
		ev, err := ops.BuildEvent(ops.EventOptions{Type: "customer.subscription.updated", UserID: user,
			PriceID: standardPrice, CustomerID: ops.DefaultCustomerID(user), SubscriptionID: id,
			CancelAtPeriodEnd: cancel, Now: time.Now()})
		if err != nil {
			t.Errorf("contract stripe: %v", err)
			return
		}
		var e struct {
			Data struct {
				Object map[string]any `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(ev, &e); err != nil {
			t.Errorf("contract stripe: %v", err)
			return
		}
		clear(body)
		for k, v := range e.Data.Object {
			body[k] = v
		}
	}
	p.Rewrite("POST", "/v1/subscriptions/", rewrite)
	p.Rewrite("GET", "/v1/subscriptions/", rewrite)
	// A customer's list: the subscriptions the suite made for it (none
	// for a customer it made none for), not stripe-mock's fixture of
	// another customer.
	p.Rewrite("GET", "/v1/subscriptions", func(req stripetest.Request, body map[string]any) {
		if req.Path != "/v1/subscriptions" {
			return
		}
		stripeSubs.Lock()
		var ids []string
		for id, user := range stripeSubs.user {
			if c := req.Form.Get("customer"); c == "" || c == ops.DefaultCustomerID(user) {
				ids = append(ids, id)
			}
		}
		stripeSubs.Unlock()
		data := []any{}
		for _, id := range ids {
			obj := map[string]any{}
			rewrite(stripetest.Request{Method: "GET", Path: "/v1/subscriptions/" + id}, obj)
			data = append(data, obj)
		}
		body["data"], body["has_more"] = data, false
	})
	return p.URL
}
