package stripesync

// How the scanner matches an object key to a field name: as encoding/json
// does, exactly or else case-insensitively.

import (
	"bytes"
	"encoding/binary"
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
// with a mask of their lengths and a table that finds the one name a key
// can equal exactly with one comparison.
type fieldNames struct {
	names []string
	lens  uint64 // bit n is set when a name has n bytes (0 < n < 64)
	mul   uint32 // the hash's multiplier, chosen so no two names share a slot
	// slot holds, for each hash value, one more than the index of the name
	// with that hash, or 0.
	slot [64]uint8
}

// newFieldNames builds the table. Names must be distinct lowercase ASCII of
// 1 to 63 bytes; it panics otherwise, or when no multiplier separates them
// (both are programming errors, met when the package initializes).
func newFieldNames(names ...string) *fieldNames {
	f := &fieldNames{names: names}
	for _, n := range names {
		if len(n) == 0 || len(n) >= 64 || mayFold([]byte(n)) {
			panic("stripesync: field name must be 1 to 63 bytes of lowercase ASCII: " + n)
		}
		f.lens |= 1 << len(n)
	}
	mul := uint32(0x9E3779B1)
	for range 1 << 16 {
		mul += 0x3C6EF372 // stays odd
		f.mul, f.slot = mul, [64]uint8{}
		ok := true
		for i, n := range names {
			h := f.hash([]byte(n))
			if f.slot[h] != 0 {
				ok = false
				break
			}
			f.slot[h] = uint8(i + 1)
		}
		if ok {
			return f
		}
	}
	panic("stripesync: no hash separates the field names")
}

// hash places a key of 1 to 63 bytes in one of 64 slots, from its length
// and its first, middle and last bytes.
func (f *fieldNames) hash(key []byte) uint32 {
	n := len(key)
	x := uint32(key[0]) | uint32(key[n>>1])<<8 | uint32(key[n-1])<<16 | uint32(n)<<24
	return (x * f.mul) >> 26
}

// canon returns the name of f that key selects, or "". A key of a length
// no name has can only match by folding a multi-byte rune, and a key of
// lowercase ASCII only folds to itself, so only a key with an uppercase or
// non-ASCII byte is compared case-insensitively.
func canon(key []byte, f *fieldNames) string {
	if n := len(key); n < 64 && f.lens&(1<<n) != 0 {
		if j := f.slot[f.hash(key)]; j != 0 && string(key) == f.names[j-1] {
			return f.names[j-1]
		}
		if !mayFold(key) {
			return ""
		}
	} else if isASCII(key) {
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
// It looks at eight bytes at a time.
func mayFold(key []byte) bool {
	i := 0
	for ; i+8 <= len(key); i += 8 {
		if foldable8(binary.LittleEndian.Uint64(key[i:])) != 0 {
			return true
		}
	}
	for _, c := range key[i:] {
		if 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// foldable8 marks, in the high bit of each byte, the bytes of w that are an
// ASCII uppercase letter or not ASCII. The sums cannot carry between bytes:
// each adds at most 0x3F to a byte of at most 0x7F.
func foldable8(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	low := w &^ highs
	upper := (low + ones*(0x80-'A')) &^ (low + ones*(0x80-'Z'-1))
	return (upper | w) & highs
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isASCII reports whether b has only ASCII bytes, eight at a time.
func isASCII(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			return false
		}
	}
	for _, c := range b[i:] {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

var idOnly = newFieldNames("id")
