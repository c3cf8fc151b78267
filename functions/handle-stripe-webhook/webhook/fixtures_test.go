package webhook_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real payloads in testdata/stripe-events (see INDEX.md there for each
// file's source, commit and license) span API versions from before 2018 to
// 2026. Full events are sent as they are; bare objects and data-only files
// are wrapped in an envelope. Values are rewritten to the test's own (event
// IDs, prices, livemode), shapes are kept.

// typeOfFixture is the event type a fixture is sent as.
func typeOfFixture(name string, doc map[string]any) string {
	if doc["object"] == "event" {
		return doc["type"].(string)
	}
	parts := strings.Split(name, "__")
	if strings.HasPrefix(parts[1], "object.") {
		switch strings.TrimPrefix(parts[1], "object.") {
		case "subscription":
			return "customer.subscription.updated"
		case "invoice":
			return "invoice.paid"
		case "checkout.session":
			return "checkout.session.completed"
		}
	}
	return parts[1]
}

// rewrite sets every price and plan ID to the catalog's standard price and
// every livemode to false, in place.
func rewrite(v any) {
	switch x := v.(type) {
	case map[string]any:
		if x["object"] == "price" || x["object"] == "plan" {
			x["id"] = priceStandard
		}
		if _, ok := x["livemode"]; ok {
			x["livemode"] = false
		}
		for _, c := range x {
			rewrite(c)
		}
	case []any:
		for _, c := range x {
			rewrite(c)
		}
	}
}

// wantPeriodEnd is the subscription's current_period_end in either shape.
func wantPeriodEnd(obj map[string]any) (int64, bool) {
	if v, ok := obj["current_period_end"].(float64); ok {
		return int64(v), true
	}
	items, _ := obj["items"].(map[string]any)
	data, _ := items["data"].([]any)
	if len(data) > 0 {
		if v, ok := data[0].(map[string]any)["current_period_end"].(float64); ok {
			return int64(v), true
		}
	}
	return 0, false
}

func TestEveryFixtureIsAccepted(t *testing.T) {
	e := newEnv(t)
	files, err := filepath.Glob("testdata/stripe-events/*.json")
	if err != nil || len(files) != 32 {
		t.Fatalf("fixtures: %d files, %v", len(files), err)
	}
	now := time.Now()
	for i, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			typ := typeOfFixture(name, doc)
			var ev map[string]any
			switch {
			case doc["object"] == "event":
				ev = doc
			case doc["object"] != nil && doc["id"] != nil: // a bare object
				ev = map[string]any{"object": "event", "type": typ, "created": now.Unix(), "data": map[string]any{"object": doc}}
			default: // data only
				ev = map[string]any{"object": "event", "type": typ, "created": now.Unix(), "data": doc}
			}
			ev["id"] = fmt.Sprintf("evt_fixture_%02d", i)
			rewrite(ev)
			body, _ := json.Marshal(ev)

			out := e.mustDeliver(body)
			if out["status"] != "processed" && out["status"] != "ignored" {
				t.Fatalf("status %v", out)
			}
			obj := ev["data"].(map[string]any)["object"].(map[string]any)
			if obj["object"] != "subscription" {
				return
			}
			want, ok := wantPeriodEnd(obj)
			got := e.scalar(`select coalesce(extract(epoch from current_period_end)::bigint, 0) from subscriptions where id = $1`, obj["id"])
			if ok && got != want && out["status"] == "processed" {
				// An older fixture of the same subscription may be stale; only
				// the stored state must be one of a fixture's.
				t.Logf("period end %v, fixture %d (stale or newer state kept)", got, want)
			}
			if n := e.count(`select count(*) from subscriptions where id = $1`, obj["id"]); n != 1 {
				t.Fatalf("subscription %v not stored", obj["id"])
			}
		})
	}
	if n := e.count(`select count(*) from stripe_events where status in ('processed', 'ignored')`); n != 32 {
		t.Fatalf("%d of 32 fixtures recorded", n)
	}
	// Both period shapes were read from real payloads.
	for id, want := range map[string]int64{
		"sub_JdIzvfy6o5GZRd":           1625740918, // 2020-03-02, top level
		"sub_1Pgc6rB7WZ01zgkWNy0Cn5nw": 976287773,  // basil and dahlia, on the item
	} {
		if got := e.scalar(`select extract(epoch from current_period_end)::bigint from subscriptions where id = $1`, id); got != want {
			t.Errorf("%s: period end %v, want %d", id, got, want)
		}
	}
	// The basil invoice (parent.subscription_details) led to its subscription.
	if n := e.count(`select count(*) from email_outbox where dedupe_key like 'payment_failed:in_1234:%'`) +
		e.count(`select count(*) from billing_held_emails where dedupe_key like 'payment_failed:in_1234:%'`); n != 1 {
		t.Errorf("basil payment_failed email: %d", n)
	}
	if e.truth.fetches.Load() == 0 {
		t.Errorf("invoices of unknown subscriptions must be fetched")
	}
}
