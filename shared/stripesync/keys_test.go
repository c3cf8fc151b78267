package stripesync

import (
	"strings"
	"testing"
)

// refCanon is canon's rule without its shortcuts: the first name the key
// selects by isKey.
func refCanon(key []byte, f *fieldNames) string {
	for _, n := range f.names {
		if isKey(key, n) {
			return n
		}
	}
	return ""
}

// TestCanonAgreesWithIsKey checks the hashed lookup, the length mask and
// the fold prefilter against the plain rule: for every reader's names, the
// name itself, each byte of it replaced by every byte value, its upper
// case, a Kelvin sign or long s in place of k or s, and keys one byte
// longer or shorter.
func TestCanonAgreesWithIsKey(t *testing.T) {
	sets := []*fieldNames{eventFields, dataFields, subscriptionFields, itemsFields, itemFields,
		cancellationFields, idOnly}
	for _, f := range sets {
		var keys []string
		for _, n := range f.names {
			keys = append(keys, n, strings.ToUpper(n), n+"x", n[:len(n)-1], "x"+n,
				strings.ReplaceAll(n, "k", "\u212a"), strings.ReplaceAll(n, "s", "\u017f"))
			for i := range len(n) {
				for c := range 256 {
					b := []byte(n)
					b[i] = byte(c)
					keys = append(keys, string(b))
				}
			}
		}
		keys = append(keys, "", "\xff", strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("A", 70))
		for _, k := range keys {
			// The key as the scanner passes it: a slice of a larger body,
			// so words read past its end would see other bytes.
			body := []byte(`"` + k + `": "ABCDEFGHIJ\u212a"`)
			key := body[1 : 1+len(k)]
			if got, want := canon(key, f), refCanon(key, f); got != want {
				t.Fatalf("names %v, key %q: canon %q, want %q", f.names, k, got, want)
			}
		}
	}
}

// TestFoldable8 checks the word-at-a-time prefilter against the byte rule
// for every byte value at every position.
func TestFoldable8(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			want := 'A' <= c && c <= 'Z' || c >= 0x80
			if got := mayFold(w); got != want {
				t.Fatalf("%q: mayFold %v, want %v", w, got, want)
			}
			if got := !isASCII(w); got != (c >= 0x80) {
				t.Fatalf("%q: isASCII %v", w, !got)
			}
		}
	}
}

// TestNewFieldNamesRefusesBadNames: a name the lookup cannot hold is a
// programming error caught when the package initializes.
func TestNewFieldNamesRefusesBadNames(t *testing.T) {
	for _, names := range [][]string{{""}, {"Upper"}, {strings.Repeat("a", 64)}, {"caf\u00e9"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("newFieldNames(%q) did not panic", names)
				}
			}()
			newFieldNames(names...)
		}()
	}
}
