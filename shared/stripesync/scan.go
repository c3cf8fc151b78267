package stripesync

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"time"
)

// scanner is a single-pass, validating JSON reader for the few fields
// billing needs out of a Stripe event. It walks the bytes once: every value
// it does not need is checked against the JSON grammar and skipped without
// being decoded, and the fields it needs are decoded in place. It mirrors
// what encoding/json does for the struct readers it replaces: the whole
// document must be valid JSON (trailing data included), object keys match
// field names exactly or case-insensitively (bytes.EqualFold), a later
// duplicate key overwrites an earlier one, null leaves a plain field
// unchanged, nesting deeper than 10,000 levels is an error, and a value of
// the wrong type is an error. Strings with escapes or non-ASCII bytes are
// decoded by encoding/json itself, so their meaning (invalid UTF-8 becomes
// U+FFFD) is the same.
type scanner struct {
	b     []byte
	i     int
	depth int
	// times backs the timestamps read, a few to an allocation.
	times []time.Time
	// escaped is whether the last string stringSpan read has an escape.
	escaped bool
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// errSyntax is wrapped by every grammar error.
var errSyntax = errors.New("invalid JSON")

// errType is wrapped by every error of a value of the wrong type.
var errType = errors.New("JSON value of the wrong type")

func (s *scanner) syntax(what string) error {
	return fmt.Errorf("stripesync: %w: %s at offset %d", errSyntax, what, s.i)
}

func (s *scanner) typeErr(field, want string) error {
	return fmt.Errorf("stripesync: %w: %s must be %s (offset %d)", errType, field, want, s.i)
}

// ws skips JSON whitespace. Stripe sends its JSON indented: a line break
// is followed by a run of spaces, which is skipped a word at a time (the
// first byte of a word that is not a space ends it); any other whitespace
// is one byte, mostly the space after a colon.
func (s *scanner) ws() {
	b, i := s.b, s.i
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r':
			i++
		case '\n':
			i++
			for i+8 <= len(b) {
				if x := binary.LittleEndian.Uint64(b[i:]) ^ spaces8; x != 0 {
					i += bits.TrailingZeros64(x) >> 3
					break
				}
				i += 8
			}
		default:
			s.i = i
			return
		}
	}
	s.i = i
}

// spaces8 is eight spaces as a little-endian word.
const spaces8 = 0x2020202020202020

// peek returns the next non-space byte, or 0 at the end. A byte above the
// space is never whitespace, so the common case needs no skipping.
func (s *scanner) peek() byte {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return s.b[s.i]
	}
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// next consumes c when it is the very next byte, the common case in
// Stripe's layout (`"key": value,`), without the call peek makes.
func (s *scanner) next(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end checks that only whitespace follows the top-level value.
func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return s.syntax("data after the top-level value")
	}
	return nil
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return s.syntax("invalid literal")
	}
	s.i += len(lit)
	return nil
}

// isNull consumes a null and reports whether there was one.
func (s *scanner) isNull() (bool, error) {
	if s.peek() != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

// object reads an object; field is called with each raw key (the bytes
// between the quotes, escapes undecoded unless the key has any: then it is
// decoded) and must consume the value.
func (s *scanner) object(field func(key []byte) error) error {
	if s.peek() != '{' {
		return s.syntax("expected an object")
	}
	s.i++
	if s.depth++; s.depth > maxDepth {
		return s.syntax("nesting too deep")
	}
	if s.peek() == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.syntax("expected a key")
		}
		start, end, err := s.stringSpan()
		if err != nil {
			return err
		}
		key := s.b[start+1 : end-1]
		if s.escaped {
			var k string
			if err := json.Unmarshal(s.b[start:end], &k); err != nil {
				return s.syntax("invalid key")
			}
			key = []byte(k)
		}
		if !s.next(':') {
			if s.peek() != ':' {
				return s.syntax("expected a colon")
			}
			s.i++
		}
		if err := field(key); err != nil {
			return err
		}
		if s.next(',') {
			continue
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return s.syntax("expected a comma or the end of the object")
		}
	}
}

// array reads an array, calling elem for each element (which must consume it).
func (s *scanner) array(elem func() error) error {
	if s.peek() != '[' {
		return s.syntax("expected an array")
	}
	s.i++
	if s.depth++; s.depth > maxDepth {
		return s.syntax("nesting too deep")
	}
	if s.peek() == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if s.next(',') {
			continue
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return nil
		default:
			return s.syntax("expected a comma or the end of the array")
		}
	}
}

// stringSpan checks the string at s.i and returns its bounds, quotes
// included. The bytes are looked at eight at a time: a word with no quote,
// backslash or control character is passed over whole.
func (s *scanner) stringSpan() (start, end int, err error) {
	b := s.b
	start = s.i
	i := s.i + 1
	s.escaped = false
	for {
		for i+8 <= len(b) {
			m := special8(binary.LittleEndian.Uint64(b[i:]))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			s.i = len(b)
			return 0, 0, s.syntax("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return start, s.i, nil
		case c == '\\':
			s.escaped = true
			i++
			if i >= len(b) {
				s.i = i
				return 0, 0, s.syntax("unterminated escape")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 > len(b) || !isHex4(b[i+1:i+5]) {
					s.i = i
					return 0, 0, s.syntax("invalid \\u escape")
				}
				i += 5
			default:
				s.i = i
				return 0, 0, s.syntax("invalid escape")
			}
		case c < 0x20:
			s.i = i
			return 0, 0, s.syntax("control character in a string")
		default:
			i++
		}
	}
}

// special8 marks, in the high bit of each byte, the bytes of the
// little-endian word w that end a plain run of a string: a quote, a
// backslash or a control character. The lowest marked byte is exact (the
// borrows of the subtractions only reach bytes above a marked one).
func special8(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := w ^ (ones * '"')
	bs := w ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (w-ones*0x20)&^w) & highs
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// number checks the number at s.i and returns its literal.
func (s *scanner) number() ([]byte, error) {
	b, start := s.b, s.i
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		s.i = i
		return nil, s.syntax("invalid value")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.i = i
			return nil, s.syntax("invalid number")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.i = i
			return nil, s.syntax("invalid number")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	s.i = i
	return b[start:i], nil
}
