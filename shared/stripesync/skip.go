package stripesync

// The scanner's checking skip: a value billing does not read is checked
// against the JSON grammar and passed over, without decoding it.

// checkJSON reports whether b is one valid JSON value (with encoding/json's
// grammar and nesting limit), without decoding it.
func checkJSON(b []byte) error {
	s := scanner{b: b}
	if err := s.skip(); err != nil {
		return err
	}
	return s.end()
}

// skip checks and skips one value of any type.
func (s *scanner) skip() error {
	switch s.peek() {
	case '{':
		return s.object(s.skipMember)
	case '[':
		return s.array(s.skip)
	case '"':
		_, _, err := s.stringSpan()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case 0:
		return s.syntax("unexpected end of input")
	}
	_, err := s.number()
	return err
}

// skipMember skips the value of an object member whatever its key.
func (s *scanner) skipMember([]byte) error { return s.skip() }
