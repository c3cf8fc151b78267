package stripesync

// The scanner's decoders of the values billing reads: strings, booleans,
// integers, Stripe timestamps and references, with encoding/json's rules.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// str decodes a string value into *dst; null leaves *dst as it is.
func (s *scanner) str(field string, dst *string) error {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '"':
	default:
		if err := s.skip(); err != nil {
			return err
		}
		return s.typeErr(field, "a string")
	}
	start, end, err := s.stringSpan()
	if err != nil {
		return err
	}
	*dst, err = s.decodeString(start, end)
	return err
}

// decodeString returns the string at b[start:end] (quotes included).
func (s *scanner) decodeString(start, end int) (string, error) {
	raw := s.b[start+1 : end-1]
	plain := true
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		if v, ok := common(raw); ok {
			return v, nil
		}
		return string(raw), nil
	}
	var v string
	if err := json.Unmarshal(s.b[start:end], &v); err != nil {
		return "", fmt.Errorf("stripesync: %w: %v", errSyntax, err)
	}
	return v, nil
}

// common returns, without allocating, the strings every event repeats:
// object names, subscription statuses and the event types billing reads.
func common(raw []byte) (string, bool) {
	switch string(raw) {
	case "event":
		return "event", true
	case "subscription":
		return "subscription", true
	case "active":
		return "active", true
	case "trialing":
		return "trialing", true
	case "past_due":
		return "past_due", true
	case "canceled":
		return "canceled", true
	case "unpaid":
		return "unpaid", true
	case "incomplete":
		return "incomplete", true
	case "customer.subscription.created":
		return "customer.subscription.created", true
	case "customer.subscription.updated":
		return "customer.subscription.updated", true
	case "customer.subscription.deleted":
		return "customer.subscription.deleted", true
	}
	return "", false
}

// optStr decodes a string value into *dst, which null sets to nil.
func (s *scanner) optStr(field string, dst **string) error {
	if null, err := s.isNull(); null || err != nil {
		*dst = nil
		return err
	}
	v := ""
	if *dst != nil {
		v = **dst
	}
	if err := s.str(field, &v); err != nil {
		return err
	}
	*dst = &v
	return nil
}

// boolean decodes a bool value; null leaves *dst as it is.
func (s *scanner) boolean(field string, dst *bool) error {
	switch s.peek() {
	case 't':
		*dst = true
		return s.literal("true")
	case 'f':
		*dst = false
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	if err := s.skip(); err != nil {
		return err
	}
	return s.typeErr(field, "a boolean")
}

// int64Ptr decodes an integer into *dst, which null sets to nil.
func (s *scanner) int64Ptr(field string, dst **int64) error {
	if null, err := s.isNull(); null || err != nil {
		*dst = nil
		return err
	}
	if c := s.peek(); c != '-' && (c < '0' || c > '9') {
		if err := s.skip(); err != nil {
			return err
		}
		return s.typeErr(field, "an integer")
	}
	lit, err := s.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		return s.typeErr(field, "an integer")
	}
	*dst = &n
	return nil
}

// timestamp decodes a Stripe timestamp (unix's rules: seconds as a number,
// or a string holding a number literal, or null, which sets nil).
func (s *scanner) timestamp(field string, dst *unix) error {
	var lit []byte
	switch c := s.peek(); {
	case c == 'n':
		dst.t = nil
		return s.literal("null")
	case c == '"':
		start, end, err := s.stringSpan()
		if err != nil {
			return err
		}
		v, err := s.decodeString(start, end)
		if err != nil {
			return err
		}
		if !isNumberLiteral(v) {
			return s.typeErr(field, "a number")
		}
		lit = []byte(v)
	case c == '-' || '0' <= c && c <= '9':
		var err error
		if lit, err = s.number(); err != nil {
			return err
		}
	default:
		if err := s.skip(); err != nil {
			return err
		}
		return s.typeErr(field, "a number")
	}
	n, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		return s.typeErr(field, "an integer number of seconds")
	}
	if len(s.times) == cap(s.times) {
		s.times = make([]time.Time, 0, 8)
	}
	s.times = append(s.times, time.Unix(n, 0).UTC())
	dst.t = &s.times[len(s.times)-1]
	return nil
}

// isNumberLiteral reports whether v is a JSON number literal (what
// encoding/json accepts in a string decoded into a json.Number).
func isNumberLiteral(v string) bool {
	if v == "" {
		return false
	}
	s := scanner{b: []byte(v)}
	if _, err := s.number(); err != nil {
		return false
	}
	return s.i == len(v)
}

// reference decodes a Stripe reference (ref's rules: an ID string, an
// object whose "id" is read, or null, which sets "").
func (s *scanner) reference(field string, dst *ref) error {
	switch s.peek() {
	case 'n':
		*dst = ""
		return s.literal("null")
	case '"':
		var v string
		if err := s.str(field, &v); err != nil {
			return err
		}
		*dst = ref(v)
		return nil
	case '{':
		var id string
		err := s.object(func(key []byte) error {
			if canon(key, idOnly) != "" {
				return s.str(field+".id", &id)
			}
			return s.skip()
		})
		*dst = ref(id)
		return err
	}
	if err := s.skip(); err != nil {
		return err
	}
	return s.typeErr(field, "an ID or an object")
}
