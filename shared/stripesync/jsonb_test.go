package stripesync

import (
	"encoding/json"
	"testing"
)

func TestJSONBSafe(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no escape", `{"a":"b\n"}`, `{"a":"b\n"}`},
		{"the escape", `{"a":"x\u0000y"}`, `{"a":"x\ufffdy"}`},
		{"two", `{"\u0000":"\u0000\u0000"}`, `{"\ufffd":"\ufffd\ufffd"}`},
		{"an escaped backslash, then text", `{"a":"\\u0000"}`, `{"a":"\\u0000"}`},
		{"an escaped backslash, then the escape", `{"a":"\\\u0000"}`, `{"a":"\\\ufffd"}`},
		{"other escapes of zero-led code points", `{"a":"\u0001\u00e9"}`, `{"a":"\u0001\u00e9"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got := jsonbSafe(in, true)
			if string(got) != tt.want {
				t.Errorf("jsonbSafe(%s) = %s, want %s", tt.in, got, tt.want)
			}
			if string(in) != tt.in {
				t.Errorf("the input changed: %s", in)
			}
			if !json.Valid(got) {
				t.Errorf("%s is not JSON", got)
			}
			var a, b map[string]any
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.in), &b); err != nil {
				t.Fatal(err)
			}
			if tt.in == tt.want && len(got) > 0 && &got[0] != &in[0] {
				t.Error("an input without the escape was copied")
			}
		})
	}
}
