package stripesync

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestAppendDocument: the document billing_apply_event reads holds the
// event with its payload, the subscription with its raw object and the
// catalog, spliced in as they are; a part that is not valid JSON is left
// out unless it was checked when it was read; and the rest is what
// encoding/json writes of the structs.
func TestAppendDocument(t *testing.T) {
	at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	payload := []byte(`{"id":"evt_1","data":{"object":{"id":"sub_1","note":"<&>"}}}`)
	raw := []byte(`{"id": "sub_1", "note": "<&>"}`)
	catalog := []byte(`{"plans":[]}`)
	doc := applyDoc{CustomerID: "cus_1", Emails: []Email{}, Locale: "ja"}
	ev := &eventDoc{ID: "evt_1", Type: "customer.subscription.updated", Created: at, Status: "processed"}
	sub := &subscriptionDoc{ID: "sub_1", CustomerID: "cus_1", Status: "active", StateAt: at, Source: SourceEvent}

	var got map[string]any
	decode := func(b []byte) {
		t.Helper()
		got = nil
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, b)
		}
	}
	asJSON := func(v any) any {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	rawValue := func(b []byte) any {
		var out any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	b, err := appendDocument(doc, ev, part{payload, true}, sub, part{raw, false}, catalog)
	if err != nil {
		t.Fatal(err)
	}
	decode(b)
	wantEv := asJSON(ev).(map[string]any)
	wantEv["payload"] = rawValue(payload)
	wantSub := asJSON(sub).(map[string]any)
	wantSub["raw"] = rawValue(raw)
	want := asJSON(doc).(map[string]any)
	want["event"], want["subscription"], want["catalog"] = wantEv, wantSub, rawValue(catalog)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("document\n%s\nwant %v", b, want)
	}

	// Invalid parts are left out; no event and no subscription, no keys.
	b, err = appendDocument(doc, ev, part{[]byte(`{"id":`), false}, sub, part{[]byte(`nope`), false}, catalog)
	if err != nil {
		t.Fatal(err)
	}
	decode(b)
	if _, ok := got["event"].(map[string]any)["payload"]; ok {
		t.Errorf("an invalid payload was kept: %s", b)
	}
	if _, ok := got["subscription"].(map[string]any)["raw"]; ok {
		t.Errorf("an invalid raw object was kept: %s", b)
	}
	b, err = appendDocument(doc, nil, part{}, nil, part{}, catalog)
	if err != nil {
		t.Fatal(err)
	}
	decode(b)
	if _, ok := got["event"]; ok {
		t.Errorf("an event without one: %s", b)
	}
	if _, ok := got["subscription"]; ok {
		t.Errorf("a subscription without one: %s", b)
	}
	if got["locale"] != "ja" || got["customer_id"] != "cus_1" {
		t.Errorf("document %s", b)
	}
}
