package stripesync

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// The encoding/json readers the scanner replaced, kept as the oracle the
// scanner is compared with.

func refReadEvent(b []byte, out *rawEvent) error {
	var r struct {
		ID         string `json:"id"`
		Object     string `json:"object"`
		Type       string `json:"type"`
		APIVersion string `json:"api_version"`
		Livemode   bool   `json:"livemode"`
		Created    unix   `json:"created"`
		Data       *struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	*out = rawEvent{ID: r.ID, Object: r.Object, Type: r.Type, APIVersion: r.APIVersion,
		Livemode: r.Livemode, Created: r.Created}
	if r.Data != nil {
		out.HasData, out.Data = true, r.Data.Object
	}
	return nil
}

func refReadSubscription(b []byte, r *rawSubscription) error {
	if err := json.Unmarshal(b, r); err != nil {
		return err
	}
	// The scanner keeps only the metadata key billing reads.
	if r.Metadata != nil {
		m := metadata{}
		if v, ok := r.Metadata["supabase_uid"]; ok {
			if s, isStr := v.(string); isStr {
				m["supabase_uid"] = s
			} else {
				m["supabase_uid"] = nil
			}
		}
		r.Metadata = m
		if len(m) == 0 {
			r.Metadata = nil // the scanner makes no map without the key
		}
	}
	return nil
}

// hasDuplicateKeys reports whether some object of the valid JSON b has two
// keys that select the same struct field (equal under encoding/json's
// case folding). With such keys the two readers may merge differently
// (which value wins is then the only difference, and Stripe never sends
// duplicate keys), so the comparison leaves those inputs out.
func hasDuplicateKeys(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // the end (the input is valid JSON)
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if k, ok := tok.(string); ok {
				f := foldKey(k)
				if top.keys[f] {
					return true
				}
				top.keys[f] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expect = true
		}
	}
}

// foldKey folds k as encoding/json does (the smallest rune of each fold set).
func foldKey(k string) string {
	var sb strings.Builder
	for _, r := range k {
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// compareReaders checks that the scanner and encoding/json agree on b.
func compareReaders(t *testing.T, b []byte) {
	t.Helper()
	var got, want rawEvent
	gerr, werr := readEvent(b, &got), refReadEvent(b, &want)
	skip := werr == nil && hasDuplicateKeys(b)
	if !skip {
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("event: scanner error %v, encoding/json error %v", gerr, werr)
		}
		// The object read as a subscription in the same pass is what the
		// subscription reader makes of data.object.
		if gerr == nil && got.Sub != nil {
			var ws rawSubscription
			if err := refReadSubscription(want.Data, &ws); err != nil || !reflect.DeepEqual(*got.Sub, ws) {
				t.Fatalf("event: data.object read in the pass %+v, encoding/json %+v (%v)", *got.Sub, ws, err)
			}
		}
		got.Sub = nil
		if gerr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("event: scanner %+v, encoding/json %+v", got, want)
		}
	}
	var gs, ws rawSubscription
	gerr, werr = readSubscription(b, &gs), refReadSubscription(b, &ws)
	if !skip {
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("subscription: scanner error %v, encoding/json error %v", gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(gs, ws) {
			t.Fatalf("subscription: scanner %+v\nencoding/json %+v", gs, ws)
		}
	}
	// The object inside an event too.
	if werr := refReadEvent(b, &want); werr == nil && want.HasData && len(want.Data) > 0 && !hasDuplicateKeys(b) {
		var gs, ws rawSubscription
		gerr, werr := readSubscription(want.Data, &gs), refReadSubscription(want.Data, &ws)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("data.object: scanner error %v, encoding/json error %v", gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(gs, ws) {
			t.Fatalf("data.object: scanner %+v\nencoding/json %+v", gs, ws)
		}
	}
}

// corpus is every captured event: the webhook's fixtures of every API
// version and the peers' benchmark event.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("../../functions/handle-stripe-webhook/webhook/testdata/*/*.json")
	if err != nil || len(files) < 30 {
		t.Fatalf("fixtures: %d files, %v", len(files), err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func TestReadersAgreeOnFixtures(t *testing.T) {
	for name, b := range corpus(t) {
		t.Run(name, func(t *testing.T) { compareReaders(t, b) })
	}
}

func TestReadersAgreeOnEdgeCases(t *testing.T) {
	tests := []string{
		``, ` `, `null`, `[]`, `5`, `"x"`, `{}`, `{`, `}`, `{"id":}`, `{"id":"a",}`, `{"id":"a"} x`,
		`{"id":"a"}  `, `{"ID":"a","Type":"t"}`, `{"id":"a\u0062c"}`, `{"\u0069d":"abc"}`,
		`{"id":"\ud800"}`, "{\"id\":\"a\xffb\"}", "{\"id\":\"a\tb\"}", `{"id":"a\qb"}`, `{"id":"a\u12"}`,
		`{"id":5}`, `{"id":null}`, `{"livemode":"true"}`, `{"livemode":null}`, `{"livemode":tru}`,
		`{"created":"1700000000"}`, `{"created":"1.5"}`, `{"created":"x"}`, `{"created":1e3}`,
		`{"created":-0}`, `{"created":01}`, `{"created":1.}`, `{"created":99999999999999999999}`,
		`{"created":true}`, `{"data":null}`, `{"data":5}`, `{"data":{"object":null}}`,
		`{"data":{"object":{"id":"sub_1"}}}`, `{"data":{"Object":[1,2,{"a":"b"}]}}`,
		`{"customer":{"id":"cus_1","x":[]}}`, `{"customer":5}`, `{"customer":null}`,
		`{"metadata":{"supabase_uid":5}}`, `{"metadata":{"Supabase_uid":"x"}}`, `{"metadata":[]}`,
		`{"items":{"data":[{"price":{"id":"p"},"quantity":2},null,{"plan":{"id":"q"}}]}}`,
		`{"items":{"data":[{"price":"p"}]}}`, `{"items":{"data":{}}}`, `{"items":null}`,
		`{"items":{"data":[{"quantity":1.5}]}}`, `{"quantity":-3}`, `{"quantity":"3"}`,
		`{"cancellation_details":{"reason":null,"feedback":"x","comment":5}}`,
		`{"cancellation_details":{"Reason":"r"}}`, `{"plan":{"id":"old"}}`, `{"plan":"old"}`,
		"{\"\u212a\":1,\"status\":\"\u017ftatus\"}", "{\"\u017ftatus\":\"active\"}",
		`{"a":[[[[[[[[[[]]]]]]]]]]}`, `{"a":-}`, `{"a":1e}`, `{"a":.5}`, `{"a":"\/"}`,
		strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001),
		`{"a":` + strings.Repeat(`[`, 10000) + strings.Repeat(`]`, 10000) + `}`,
	}
	for _, in := range tests {
		t.Run(strings.ToValidUTF8(in[:min(len(in), 40)], "?"), func(t *testing.T) { compareReaders(t, []byte(in)) })
	}
}

// FuzzReaders compares the scanner with encoding/json on any input: the
// same error or not, and the same fields read (inputs with duplicate keys
// are only run, not compared; see hasDuplicateKeys). Seeds: every captured
// event and testdata/fuzz/FuzzReaders.
func FuzzReaders(f *testing.F) {
	for _, b := range corpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		compareReaders(t, b)
	})
}

// BenchmarkReaders compares the scanner with the encoding/json readers it
// replaced on the peers' 4 KB event: the envelope, then its subscription.
func BenchmarkReaders(b *testing.B) {
	body, err := os.ReadFile("../../functions/handle-stripe-webhook/webhook/testdata/peer-bench/customer.subscription.updated.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range []struct {
		name string
		ev   func([]byte, *rawEvent) error
		sub  func([]byte, *rawSubscription) error
	}{{"scanner", readEvent, readSubscription}, {"encoding-json", refReadEvent, refReadSubscription}} {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for range b.N {
				var ev rawEvent
				if err := r.ev(body, &ev); err != nil {
					b.Fatal(err)
				}
				var sub rawSubscription
				if err := r.sub(ev.Data, &sub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
