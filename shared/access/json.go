package access

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// MarshalJSON writes the check-subscription response body, keys in this
// order:
//
//	subscribed, isSubscribed (the same value, for existing React code),
//	plan, planType, status, cancelAtPeriodEnd, currentPeriodEnd,
//	renewalDate (the same as currentPeriodEnd), accessUntil,
//	entitlements {name: bool}, has<PascalCase(name)> for every entitlement,
//	limits {name: number or null for unlimited},
//	usage {name: {kind, used, limit, remaining, resetsAt (monthly)}} when
//	Usage is set.
//	scheduledPlan, scheduledChangeAt (null when no change is scheduled).
//
// Entitlements and limits are sorted by name. Times are RFC 3339 in UTC, to
// the whole second; an unknown time is null.
func (r Result) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(nil), nil
}

// AppendJSON appends the body MarshalJSON returns to dst: valid, compact
// JSON, so that httpkit.WriteJSON writes it without encoding/json's check
// and compaction of a Marshaler's output.
func (r Result) AppendJSON(dst []byte) []byte {
	b := bytes.NewBuffer(dst)
	b.WriteByte('{')
	first := true
	field := func(key string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, key)
		b.WriteByte(':')
	}

	field("subscribed")
	b.WriteString(strconv.FormatBool(r.Subscribed))
	field("isSubscribed")
	b.WriteString(strconv.FormatBool(r.Subscribed))
	field("plan")
	writeString(b, r.Plan)
	field("planType")
	writeStringPtr(b, r.PlanType)
	field("status")
	writeStringPtr(b, r.Status)
	field("cancelAtPeriodEnd")
	b.WriteString(strconv.FormatBool(r.CancelAtPeriodEnd))
	field("currentPeriodEnd")
	writeTime(b, r.CurrentPeriodEnd)
	field("renewalDate")
	writeTime(b, r.CurrentPeriodEnd)
	field("accessUntil")
	writeTime(b, r.AccessUntil)

	var nbuf, lbuf [16]string
	names := sortedKeys(nbuf[:0], r.Entitlements)
	field("entitlements")
	b.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, name)
		b.WriteByte(':')
		b.WriteString(strconv.FormatBool(r.Entitlements[name]))
	}
	b.WriteByte('}')
	for _, name := range names {
		field(HasKey(name))
		b.WriteString(strconv.FormatBool(r.Entitlements[name]))
	}

	field("limits")
	b.WriteByte('{')
	for i, name := range sortedKeys(lbuf[:0], r.Limits) {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, name)
		b.WriteByte(':')
		if v := r.Limits[name]; v != nil {
			b.WriteString(strconv.Itoa(*v))
		} else {
			b.WriteString("null")
		}
	}
	b.WriteByte('}')

	if r.Usage != nil {
		field("usage")
		writeUsage(b, r.Usage)
	}
	field("scheduledPlan")
	writeStringPtr(b, r.ScheduledPlan)
	field("scheduledChangeAt")
	writeTime(b, r.ScheduledChangeAt)

	b.WriteByte('}')
	return b.Bytes()
}

// sortedKeys appends m's keys to buf in order (a buffer on the caller's
// stack holds a catalog's few names without allocating).
func sortedKeys[V any](buf []string, m map[string]V) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}

// hasKeys remembers HasKey's answers: the names are the catalog's few
// entitlements, asked for on every response.
var hasKeys sync.Map // entitlement -> string

// HasKey returns the response key of an entitlement: "has" followed by the
// entitlement in PascalCase ("member_access" -> "hasMemberAccess",
// "race_11r" -> "hasRace11r").
func HasKey(entitlement string) string {
	if k, ok := hasKeys.Load(entitlement); ok {
		return k.(string)
	}
	k := hasKey(entitlement)
	hasKeys.Store(entitlement, k)
	return k
}

func hasKey(entitlement string) string {
	var b strings.Builder
	b.WriteString("has")
	for part := range strings.SplitSeq(entitlement, "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}

// FormatTime formats t as the response does: RFC 3339 in UTC, truncated to
// the whole second ("2026-12-26T00:00:00Z").
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// writeString writes s as encoding/json encodes a string: quoted, and a
// string with nothing to escape (printable ASCII other than the quote, the
// backslash and encoding/json's HTML characters <, > and &) as it is.
func writeString(b *bytes.Buffer, s string) {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always marshals
			b.Write(enc)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

func writeStringPtr(b *bytes.Buffer, s *string) {
	if s == nil {
		b.WriteString("null")
		return
	}
	writeString(b, *s)
}

func writeTime(b *bytes.Buffer, t *time.Time) {
	if t == nil {
		b.WriteString("null")
		return
	}
	writeString(b, FormatTime(*t))
}
