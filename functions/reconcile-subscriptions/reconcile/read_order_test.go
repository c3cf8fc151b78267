package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/internal/stripetest/fntest"
	"billing/shared/stripeclient"
)

// Each list page is stamped with a lower bound of its own read: its Date
// header less its own round trip, rounded down (so one second before the
// Date for any round trip under a second), and a retrieve likewise.
func TestPagesAreStampedWithTheirOwnRead(t *testing.T) {
	t1 := time.Date(2026, 11, 21, 1, 0, 10, 0, time.UTC)
	t2 := time.Date(2026, 11, 21, 1, 0, 20, 0, time.UTC)
	t3 := time.Date(2026, 11, 21, 1, 0, 30, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		sub := func(id string) map[string]any { return map[string]any{"id": id, "object": "subscription"} }
		var body map[string]any
		switch {
		case r.URL.Path == "/v1/subscriptions/sub_3":
			w.Header().Set("Date", t3.Format(http.TimeFormat))
			body = sub("sub_3")
		case r.URL.Path == "/v1/subscriptions" && r.URL.Query().Get("starting_after") == "":
			w.Header().Set("Date", t1.Format(http.TimeFormat))
			body = map[string]any{"object": "list", "url": "/v1/subscriptions", "has_more": true,
				"data": []any{sub("sub_1")}}
		case r.URL.Path == "/v1/subscriptions" && r.URL.Query().Get("starting_after") == "sub_1":
			w.Header().Set("Date", t2.Format(http.TimeFormat))
			body = map[string]any{"object": "list", "url": "/v1/subscriptions", "has_more": false,
				"data": []any{sub("sub_2")}}
		default:
			http.Error(w, fmt.Sprintf(`{"error":{"type":"invalid_request_error","message":"%s"}}`, r.URL), http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	api := reconcile.NewStripeAPI(stripeclient.New("sk_test_x", srv.URL, nil, nil))

	var pages []reconcile.Page
	if err := api.ListSubscriptions(context.Background(), "", func(p reconcile.Page) error {
		pages = append(pages, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || len(pages[0].Subscriptions) != 1 || len(pages[1].Subscriptions) != 1 {
		t.Fatalf("pages = %+v", pages)
	}
	for i, want := range []time.Time{t1.Add(-time.Second), t2.Add(-time.Second)} {
		if !pages[i].StateAt.Equal(want) {
			t.Errorf("page %d stamped %v, want %v (its own Date less its round trip)", i+1, pages[i].StateAt, want)
		}
	}
	_, at, err := api.GetSubscription(context.Background(), "sub_3")
	if err != nil || !at.Equal(t3.Add(-time.Second)) {
		t.Fatalf("retrieve stamped %v (%v), want %v", at, err, t3.Add(-time.Second))
	}
}

// fixedStripe lists subs in one page stamped at.
type fixedStripe struct {
	subs []json.RawMessage
	at   time.Time
}

func (f fixedStripe) ListSubscriptions(_ context.Context, _ string, fn func(reconcile.Page) error) error {
	return fn(reconcile.Page{Subscriptions: f.subs, StateAt: f.at})
}

func (f fixedStripe) GetSubscription(context.Context, string) (json.RawMessage, time.Time, error) {
	return nil, time.Time{}, reconcile.ErrNotInStripe
}

// A read stamped in the second of the stored state may be older than it:
// it is stale, neither reported nor applied; a second later it applies.
func TestReadInTheStoredSecondIsStale(t *testing.T) {
	e := start(t, "pgx", &stripeSide{}, nil)
	u := e.DB.CreateUser(t, "t@example.com")
	fntest.LinkCustomer(t, e.DB, u, "cus_t")
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	fntest.InsertSubscription(t, e.DB, fntest.Sub{ID: "sub_t", UserID: u, CustomerID: "cus_t", Status: "canceled", StateAt: T})
	raw := []byte(`{"id":"sub_t","object":"subscription","customer":"cus_t","status":"active",
		"current_period_end":` + fmt.Sprint(time.Now().Add(240*time.Hour).Unix()) + `,
		"items":{"data":[{"price":{"id":"` + fntest.StandardPrice + `"},"quantity":1}]}}`)
	r := reconciler(e)
	r.Stripe = fixedStripe{subs: []json.RawMessage{raw}, at: T}
	rep, err := r.Run(context.Background(), reconcile.Options{Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 0 || rep.Stale != 1 || rep.Applied != 0 {
		t.Fatalf("report %+v, want one stale and no change", rep)
	}
	if st := fntest.ReadSubscription(t, e.DB, "sub_t"); st.Status != "canceled" {
		t.Fatalf("status %s: a read in the stored second was applied", st.Status)
	}
	r.Stripe = fixedStripe{subs: []json.RawMessage{raw}, at: T.Add(time.Second)}
	if rep, err = r.Run(context.Background(), reconcile.Options{Apply: true}); err != nil || rep.Applied != 1 {
		t.Fatalf("a later read: %+v, %v", rep, err)
	}
	if st := fntest.ReadSubscription(t, e.DB, "sub_t"); st.Status != "active" {
		t.Fatalf("status %s after a later read", st.Status)
	}
}
