package stripesync

import "bytes"

// PostgreSQL's jsonb cannot hold the character U+0000: a document with the
// escape \u0000 in any string is refused (SQLSTATE 22P05), on the pgx path
// and behind the REST API alike. Stripe's JSON can carry one where a
// person typed it (a name, a description, metadata); such an event was
// answered 5xx on every delivery and could never be applied. The escape is
// stored as \ufffd (the replacement character) instead; nothing billing
// reads is a string that can hold it.

// nulEscape is the escape jsonb refuses, and its stand-in of the same length.
var nulEscape, nulStandIn = []byte(`\u0000`), []byte(`\ufffd`)

// jsonbSafe returns b with every \u0000 escape in a string replaced by
// \ufffd. b itself is returned when it has none (the common case: one
// search, no copy); otherwise a copy is changed when copyFirst is true,
// else b in place. An escaped backslash followed by "u0000" ("\\u0000")
// is text, not the escape, and is kept.
func jsonbSafe(b []byte, copyFirst bool) []byte {
	for i := bytes.Index(b, nulEscape); i >= 0; {
		// The escape is real when an odd number of backslashes ends at i.
		n := 1
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 1 {
			if copyFirst {
				b, copyFirst = bytes.Clone(b), false
			}
			copy(b[i:], nulStandIn)
		}
		next := bytes.Index(b[i+1:], nulEscape)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return b
}
