package stripesync

// How the scanner matches an object key to a field name: as encoding/json
// does, exactly or else case-insensitively.

import (
	"bytes"
	"unicode/utf8"
)

// isKey reports whether an object key selects the field name, as
// encoding/json matches keys: exactly, or else case-insensitively
// (bytes.EqualFold; name is ASCII).
func isKey(key []byte, name string) bool {
	if string(key) == name {
		return true
	}
	if len(key) == len(name) {
		for i := range len(key) {
			c, n := key[i], name[i]
			if c >= utf8.RuneSelf {
				return bytes.EqualFold(key, []byte(name))
			}
			if c != n && lower(c) != lower(n) {
				return false
			}
		}
		return true
	}
	// A multi-byte rune can fold to an ASCII letter (U+212A KELVIN SIGN
	// to k, U+017F LONG S to s), so a longer key can still match.
	return len(key) > len(name) && !isASCII(key) && bytes.EqualFold(key, []byte(name))
}

// fieldNames is the field names an object reader selects, lowercase ASCII,
// with a mask of their lengths.
type fieldNames struct {
	names []string
	lens  uint64 // bit n is set when a name has n bytes (n < 64)
}

func newFieldNames(names ...string) *fieldNames {
	f := &fieldNames{names: names}
	for _, n := range names {
		if len(n) >= 64 {
			panic("stripesync: field name too long: " + n)
		}
		f.lens |= 1 << len(n)
	}
	return f
}

// canon returns the name of f that key selects, or "". A key of a length
// no name has can only match by folding a multi-byte rune, and a key of
// lowercase ASCII only folds to itself, so only a key with an uppercase or
// non-ASCII byte is compared case-insensitively.
func canon(key []byte, f *fieldNames) string {
	if n := len(key); n < 64 && f.lens&(1<<n) != 0 {
		for _, name := range f.names {
			if string(key) == name {
				return name
			}
		}
	}
	if !mayFold(key) {
		return ""
	}
	for _, n := range f.names {
		if isKey(key, n) {
			return n
		}
	}
	return ""
}

// mayFold reports whether key has a byte that case folding changes or that
// starts a multi-byte rune: an ASCII uppercase letter or a non-ASCII byte.
func mayFold(key []byte) bool {
	for _, c := range key {
		if 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

var idOnly = newFieldNames("id")
