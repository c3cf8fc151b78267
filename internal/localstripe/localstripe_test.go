package localstripe_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"

	"billing/internal/localstripe"
	"billing/internal/stripetest"
	"billing/shared/stripeclient"
)

const secret = "whsec_localstripetest"

// receiver is a webhook endpoint that verifies each event's signature.
type receiver struct {
	mu     sync.Mutex
	events []stripe.Event
	t      *testing.T
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), secret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		rc.t.Errorf("webhook: bad signature or payload: %v", err)
		http.Error(w, "bad", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, ev)
	rc.mu.Unlock()
	_, _ = w.Write([]byte(`{"received":true}`))
}

// waitTypes waits until the receiver got n events and returns their types.
func (rc *receiver) waitTypes(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc.mu.Lock()
		got := len(rc.events)
		var types []string
		for _, e := range rc.events {
			types = append(types, string(e.Type))
		}
		rc.mu.Unlock()
		if got >= n {
			return types
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d events %v, want %d", got, types, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type fixture struct {
	srv  *localstripe.Server
	api  *client.API
	rc   *receiver
	base string
}

func newFixture(t *testing.T, statePath string) *fixture {
	t.Helper()
	rc := &receiver{t: t}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	mux := http.NewServeMux()
	front := httptest.NewServer(mux)
	t.Cleanup(front.Close)
	srv, err := localstripe.New(localstripe.Options{Upstream: stripetest.MockURL(t), PublicURL: front.URL,
		WebhookURL: hook.URL, WebhookSecret: secret, StatePath: statePath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	mux.Handle(localstripe.Prefix+"/", srv)
	return &fixture{srv: srv, api: stripeclient.New(stripetest.Key, srv.APIBase(), nil, nil), rc: rc, base: front.URL}
}

func (f *fixture) checkout(t *testing.T, user string) (*stripe.Customer, *stripe.CheckoutSession) {
	t.Helper()
	cp := &stripe.CustomerParams{Email: stripe.String("someone@example.com")}
	cp.AddMetadata("supabase_uid", user)
	cp.SetIdempotencyKey("customer-create:" + user)
	cus, err := f.api.Customers.New(cp)
	if err != nil {
		t.Fatal(err)
	}
	sp := &stripe.CheckoutSessionParams{Mode: stripe.String("subscription"), Customer: stripe.String(cus.ID),
		ClientReferenceID: stripe.String(user), SuccessURL: stripe.String("http://app.test/ok?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:        stripe.String("http://app.test/pricing"),
		LineItems:        []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String("price_dev_standard"), Quantity: stripe.Int64(1)}},
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{}}
	sp.AddMetadata("supabase_uid", user)
	sp.SubscriptionData.AddMetadata("supabase_uid", user)
	cs, err := f.api.CheckoutSessions.New(sp)
	if err != nil {
		t.Fatal(err)
	}
	return cus, cs
}

func TestLifecycle(t *testing.T) {
	const user = "00000000-0000-4000-8000-0000000000aa"
	statePath := filepath.Join(t.TempDir(), "state.json")
	f := newFixture(t, statePath)
	cus, cs := f.checkout(t, user)

	t.Run("idempotent customer", func(t *testing.T) {
		again, other := f.checkout(t, user)
		if again.ID != cus.ID {
			t.Fatalf("same idempotency key gave customer %s, then %s", cus.ID, again.ID)
		}
		cs = other // the user's newest open session, which Pay("", user) pays
	})
	t.Run("session URL is the local pay page", func(t *testing.T) {
		if want := f.base + localstripe.Prefix + "/checkout/" + cs.ID; cs.URL != want || cs.Status != "open" {
			t.Fatalf("url %q status %q, want %q open", cs.URL, cs.Status, want)
		}
	})
	t.Run("stripe-mock still validates", func(t *testing.T) {
		_, err := f.api.CheckoutSessions.New(&stripe.CheckoutSessionParams{Mode: stripe.String("not_a_mode")})
		var se *stripe.Error
		if err == nil || !asStripe(err, &se) || se.HTTPStatusCode != http.StatusBadRequest {
			t.Fatalf("want stripe-mock's 400, got %v", err)
		}
	})

	res, err := f.srv.Pay("", user)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != 3 {
		t.Fatalf("pay delivered %+v", res.Deliveries)
	}
	want := []string{"customer.subscription.created", "invoice.paid", "checkout.session.completed"}
	if got := f.rc.waitTypes(t, 3); !equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if _, err := f.srv.Pay(cs.ID, ""); err != localstripe.ErrState {
		t.Fatalf("paying twice: %v, want ErrState", err)
	}

	sub, err := f.api.Subscriptions.Get(res.SubscriptionID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != "active" || sub.Customer.ID != cus.ID || sub.Items.Data[0].Price.ID != "price_dev_standard" ||
		sub.Metadata["supabase_uid"] != user {
		t.Fatalf("subscription %+v", sub)
	}
	if end := time.Unix(sub.CurrentPeriodEnd, 0); time.Until(end) < 27*24*time.Hour {
		t.Fatalf("period ends %v, want about a month ahead", end)
	}

	t.Run("cancel at period end", func(t *testing.T) {
		p := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true),
			CancellationDetails: &stripe.SubscriptionCancellationDetailsParams{Feedback: stripe.String("too_expensive")}}
		got, err := f.api.Subscriptions.Update(sub.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if !got.CancelAtPeriodEnd || got.CancelAt != sub.CurrentPeriodEnd || got.Status != "active" ||
			got.CancellationDetails.Feedback != "too_expensive" {
			t.Fatalf("after cancel: %+v", got)
		}
		types := f.rc.waitTypes(t, 4)
		if types[3] != "customer.subscription.updated" {
			t.Fatalf("events %v", types)
		}
	})
	t.Run("resume", func(t *testing.T) {
		got, err := f.api.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(false)})
		if err != nil {
			t.Fatal(err)
		}
		if got.CancelAtPeriodEnd || got.CancelAt != 0 {
			t.Fatalf("after resume: %+v", got)
		}
		f.rc.waitTypes(t, 5)
	})
	t.Run("plan change as change-plan makes an upgrade", func(t *testing.T) {
		// The parameters of change-plan's upgrade: prorated and invoiced
		// now, a failed payment left pending, the invoice expanded.
		p := &stripe.SubscriptionParams{Items: []*stripe.SubscriptionItemsParams{
			{ID: stripe.String(sub.Items.Data[0].ID), Price: stripe.String("price_dev_premium")}},
			ProrationBehavior: stripe.String("always_invoice"), ProrationDate: stripe.Int64(time.Now().Unix()),
			PaymentBehavior: stripe.String("pending_if_incomplete")}
		p.AddExpand("latest_invoice")
		p.SetIdempotencyKey("change-plan:" + sub.ID + ":price_dev_premium")
		got, err := f.api.Subscriptions.Update(sub.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if got.Items.Data[0].Price.ID != "price_dev_premium" || got.PendingUpdate != nil {
			t.Fatalf("after plan change: price %s, pending update %+v", got.Items.Data[0].Price.ID, got.PendingUpdate)
		}
		if types := f.rc.waitTypes(t, 6); types[5] != "customer.subscription.updated" {
			t.Fatalf("events %v, want customer.subscription.updated last", types)
		}
		read, err := f.api.Subscriptions.Get(sub.ID, nil)
		if err != nil || read.Items.Data[0].Price.ID != "price_dev_premium" {
			t.Fatalf("read back: %+v %v", read, err)
		}
	})
	t.Run("plan change as the portal makes it", func(t *testing.T) {
		if _, err := f.srv.ChangePrice("", user, "price_dev_premium"); err != localstripe.ErrState {
			t.Fatalf("a change to the same price: %v, want ErrState", err)
		}
		r, err := f.srv.ChangePrice("", user, "price_dev_standard")
		if err != nil || len(r.Deliveries) != 1 || r.Deliveries[0].Type != "customer.subscription.updated" {
			t.Fatalf("change: %+v %v", r, err)
		}
		got, err := f.api.Subscriptions.Get(sub.ID, nil)
		if err != nil || got.Items.Data[0].Price.ID != "price_dev_standard" {
			t.Fatalf("after the change: %+v %v", got, err)
		}
		f.rc.waitTypes(t, 7)
	})
	t.Run("failed renewal, then paid", func(t *testing.T) {
		r, err := f.srv.Advance("", user, localstripe.Fail)
		if err != nil || r.Status != "past_due" {
			t.Fatalf("advance fail: %+v %v", r, err)
		}
		types := f.rc.waitTypes(t, 9)
		if types[7] != "invoice.payment_failed" || types[8] != "customer.subscription.updated" {
			t.Fatalf("events %v", types)
		}
		r, err = f.srv.Advance(sub.ID, "", localstripe.Renew)
		if err != nil || r.Status != "active" {
			t.Fatalf("advance renew: %+v %v", r, err)
		}
		f.rc.waitTypes(t, 11)
	})
	t.Run("end of a canceled period", func(t *testing.T) {
		if _, err := f.api.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		r, err := f.srv.Advance("", user, localstripe.Renew)
		if err != nil || r.Status != "canceled" {
			t.Fatalf("advance: %+v %v", r, err)
		}
		types := f.rc.waitTypes(t, 13)
		if types[12] != "customer.subscription.deleted" {
			t.Fatalf("events %v", types)
		}
		got, err := f.api.Subscriptions.Get(sub.ID, nil)
		if err != nil || got.Status != "canceled" || got.EndedAt == 0 || got.CurrentPeriodEnd > time.Now().Unix() {
			t.Fatalf("after the end: %+v %v", got, err)
		}
		if _, err := f.srv.Advance("", user, localstripe.Renew); err != localstripe.ErrNotFound {
			t.Fatalf("advance with nothing left: %v", err)
		}
	})
	t.Run("list", func(t *testing.T) {
		it := f.api.Subscriptions.List(&stripe.SubscriptionListParams{Customer: stripe.String(cus.ID), Status: stripe.String("all")})
		var ids []string
		for it.Next() {
			ids = append(ids, it.Subscription().ID)
		}
		if it.Err() != nil || len(ids) != 1 || ids[0] != sub.ID {
			t.Fatalf("list: %v %v", ids, it.Err())
		}
		it = f.api.Subscriptions.List(&stripe.SubscriptionListParams{Customer: stripe.String(cus.ID)})
		if it.Next() {
			t.Fatalf("a canceled subscription is listed without status=all")
		}
	})
	t.Run("state survives a restart", func(t *testing.T) {
		f.srv.Close()
		again, err := localstripe.New(localstripe.Options{Upstream: stripetest.MockURL(t), PublicURL: "http://x", StatePath: statePath})
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if len(again.Deliveries()) != 13 {
			t.Fatalf("deliveries after restart: %d", len(again.Deliveries()))
		}
	})
}

func TestUnknownObjectsAreStripeMocks(t *testing.T) {
	f := newFixture(t, "")
	sub, err := f.api.Subscriptions.Get("sub_notkepthere", nil)
	if err != nil || sub.ID != "sub_notkepthere" {
		t.Fatalf("unknown subscription: %+v %v", sub, err)
	}
}

func TestControlEndpoints(t *testing.T) {
	const user = "00000000-0000-4000-8000-0000000000bb"
	f := newFixture(t, "")
	_, cs := f.checkout(t, user)
	res, err := http.Get(cs.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !contains(string(page), "Pay") {
		t.Fatalf("checkout page: %d %s", res.StatusCode, page)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = noRedirect.Post(cs.URL+"/pay", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "http://app.test/ok?session_id="+cs.ID {
		t.Fatalf("pay form: %d to %q", res.StatusCode, loc)
	}
	for _, tc := range []struct {
		name, path, body string
		status           int
	}{
		{"pay again", "/pay", `{"user":"` + user + `"}`, http.StatusNotFound},
		{"bad outcome", "/advance", `{"user":"` + user + `","outcome":"later"}`, http.StatusBadRequest},
		{"advance", "/advance", `{"user":"` + user + `","outcome":"fail"}`, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := http.Post(f.base+localstripe.Prefix+tc.path, "application/json", stringsReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != tc.status {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, b)
			}
		})
	}
	res, err = http.Get(f.base + localstripe.Prefix + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ev struct{ Deliveries []localstripe.Delivery }
	if err := json.NewDecoder(res.Body).Decode(&ev); err != nil || len(ev.Deliveries) != 5 {
		t.Fatalf("events: %+v %v", ev, err)
	}
	for _, d := range ev.Deliveries {
		if d.Status != 200 {
			t.Fatalf("delivery %+v", d)
		}
	}
}
