package stripesync

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"billing/shared/plans"
	"billing/shared/store"
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

// TestDocumentSendsTheEventObjectOnce: the subscription read from the
// event's body is sent without its raw object (it is the payload's
// data.object); an object from elsewhere, or an event applied without its
// body, is sent as raw.
func TestDocumentSendsTheEventObjectOnce(t *testing.T) {
	s := &Syncer{Store: &store.Store{}, Catalog: &plans.Catalog{}}
	body := []byte(`{"id": "evt_1", "object": "event", "type": "customer.subscription.updated", "created": 1764590400,
		"data": {"object": {"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active"}}}`)
	ev, err := ParseEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	other := []byte(`{"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active"}`)
	tests := []struct {
		name     string
		payload  []byte
		raw      []byte
		wantFlag bool
	}{
		{"object of the body", body, ev.Object, true},
		{"the same bytes elsewhere", body, other, false},
		{"no payload", nil, ev.Object, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &State{Subscription: Subscription{ID: "sub_1", CustomerID: "cus_1", Status: "active"},
				Raw: tc.raw, rawChecked: true, StateAt: ev.Created, Source: SourceEvent}
			b, err := s.document(&ev, tc.payload, "processed", Effects{Subscription: st})
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Event struct {
					Payload json.RawMessage `json:"payload"`
				} `json:"event"`
				Subscription map[string]json.RawMessage `json:"subscription"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, b)
			}
			_, flag := doc.Subscription["raw_is_event_object"]
			raw, hasRaw := doc.Subscription["raw"]
			if flag != tc.wantFlag || hasRaw == tc.wantFlag {
				t.Fatalf("raw_is_event_object %v, raw %v; want the flag %v and raw %v\n%s", flag, hasRaw, tc.wantFlag, !tc.wantFlag, b)
			}
			if hasRaw && !bytes.Equal(raw, tc.raw) {
				t.Fatalf("raw = %s, want %s", raw, tc.raw)
			}
			if tc.wantFlag && !bytes.Contains(doc.Event.Payload, ev.Object) {
				t.Fatalf("the payload does not hold the object: %s", doc.Event.Payload)
			}
		})
	}
}
