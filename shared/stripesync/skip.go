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
		return s.skipObject()
	case '[':
		return s.skipArray()
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

// skipObject checks and skips an object (object with a field that skips
// every value, without the function values).
func (s *scanner) skipObject() error {
	s.i++ // '{'
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
		if _, _, err := s.stringSpan(); err != nil {
			return err
		}
		if !s.next(':') {
			if s.peek() != ':' {
				return s.syntax("expected a colon")
			}
			s.i++
		}
		if err := s.skip(); err != nil {
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

// skipArray checks and skips an array.
func (s *scanner) skipArray() error {
	s.i++ // '['
	if s.depth++; s.depth > maxDepth {
		return s.syntax("nesting too deep")
	}
	if s.peek() == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if err := s.skip(); err != nil {
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
