package stripesync

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strings"
	"testing"
)

// TestSpecial8 checks the word-at-a-time search against the byte-by-byte
// rule: the first byte special8 marks is the first quote, backslash or
// control character, for every byte value at every position, behind every
// other byte value.
func TestSpecial8(t *testing.T) {
	isSpecial := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }
	for pos := range 8 {
		for c := range 256 {
			for _, fill := range []byte{'a', 0x7f, 0x80, 0xff, ' ', 0x21, '"', 0x00} {
				var w [8]byte
				for i := range w {
					w[i] = 'x'
				}
				w[pos] = byte(c)
				for i := pos + 1; i < 8; i++ {
					w[i] = fill
				}
				want := 8
				for i, b := range w {
					if isSpecial(b) {
						want = i
						break
					}
				}
				got := 8
				if m := special8(binary.LittleEndian.Uint64(w[:])); m != 0 {
					got = bits.TrailingZeros64(m) >> 3
				}
				if got != want {
					t.Fatalf("word %q: first special byte at %d, want %d", w[:], got, want)
				}
			}
		}
	}
}

// TestStringSpanAgreesWithEncodingJSON: strings of every length around the
// word size, with a quote, backslash escape, control character or
// non-ASCII byte at each position, are accepted or refused as
// encoding/json does, and end where it says.
func TestStringSpanAgreesWithEncodingJSON(t *testing.T) {
	for n := range 20 {
		for pos := range n + 1 {
			for _, ins := range []string{`\"`, `\\`, `\n`, `\u00e9`, `\x`, `\u12`, "\x01", "\x1f", "\x7f", "é", "\xff"} {
				body := strings.Repeat("a", pos) + ins + strings.Repeat("b", n-pos)
				doc := `"` + body + `"  `
				s := scanner{b: []byte(doc)}
				_, end, err := s.stringSpan()
				var v string
				werr := json.Unmarshal([]byte(doc), &v)
				if (err == nil) != (werr == nil) {
					t.Fatalf("%q: scanner error %v, encoding/json error %v", doc, err, werr)
				}
				if err == nil && end != len(doc)-2 {
					t.Fatalf("%q: string ends at %d, want %d", doc, end, len(doc)-2)
				}
			}
		}
	}
	for _, doc := range []string{`"abc`, `"abcdefghijklmnop`, `"abc\`, `"abcdefgh\`} {
		s := scanner{b: []byte(doc)}
		if _, _, err := s.stringSpan(); err == nil {
			t.Errorf("%q: unterminated string accepted", doc)
		}
	}
}

// TestWhitespaceRuns: runs of spaces of every length, mixed with tabs and
// newlines, are skipped to the next value.
func TestWhitespaceRuns(t *testing.T) {
	for n := range 40 {
		for _, ws := range []string{strings.Repeat(" ", n), "\n" + strings.Repeat(" ", n) + "\t\r\n ", strings.Repeat(" \n", n)} {
			s := scanner{b: []byte(ws + "1")}
			s.ws()
			if s.i != len(ws) {
				t.Fatalf("%q: whitespace ends at %d, want %d", ws, s.i, len(ws))
			}
		}
	}
}
