package mail

import (
	"billing/shared/httpkit"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"billing/shared/store"
)

// The statuses billing_outbox_mark records.
const (
	statusSent   = "sent"
	statusLogged = "logged"
	statusFailed = "failed"
	statusGaveUp = "gave_up"
)

// outboxRow is one claimed row as billing_outbox_claim returns it.
type outboxRow struct {
	ID           int64           `json:"id"`
	EventID      string          `json:"event_id"`
	Kind         string          `json:"kind"`
	UserID       string          `json:"user_id"`
	Email        string          `json:"email"` // from auth.users at claim time; "" when none
	Locale       string          `json:"locale"`
	TemplateData json.RawMessage `json:"template_data"`
	Attempts     int             `json:"attempts"`
}

// markResult is what billing_outbox_mark returns.
type markResult struct {
	Found    bool   `json:"found"`
	ID       int64  `json:"id"`
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	Changed  bool   `json:"changed"`
}

// claim calls billing_outbox_claim: the given IDs when ids is not nil, else
// at most limit due rows.
func (s *Sender) claim(ctx context.Context, ids []int64, limit int) ([]outboxRow, error) {
	var idsArg any // nil: due rows
	if ids != nil {
		idsArg = pgArray(ids)
	}
	var rows []outboxRow
	err := s.caller.Call(ctx, "billing_outbox_claim", []store.Arg{
		{Name: "p_ids", Value: idsArg},
		{Name: "p_limit", Value: limit},
		{Name: "p_lease_seconds", Value: int(s.cfg.Lease.Seconds())},
	}, &rows)
	return rows, err
}

// mark calls billing_outbox_mark.
func (s *Sender) mark(ctx context.Context, id int64, status, errText string) (markResult, error) {
	var res markResult
	var errArg any
	if errText != "" {
		errArg = errText
	}
	err := s.caller.Call(ctx, "billing_outbox_mark", []store.Arg{
		{Name: "p_id", Value: id},
		{Name: "p_status", Value: status},
		{Name: "p_error", Value: errArg},
		{Name: "p_max_attempts", Value: s.cfg.MaxAttempts},
	}, &res)
	if err == nil && !res.Found {
		// The row is gone (its user was deleted: the outbox cascades), so
		// nothing will retry it.
		res.Status = status
		if status == statusFailed {
			res.Status = statusGaveUp
		}
	}
	return res, err
}

// pgArray writes ids as a Postgres array literal ("{1,2}"): a string that
// resolves to bigint[] over pgx and that PostgREST converts the same way,
// where a JSON array would not reach every path alike.
func pgArray(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// normalizeLocale maps a locale tag ("ja", "ja-JP", "ja_JP", "EN-us") to
// "ja" or "en"; anything else, or empty, gives def.
func normalizeLocale(l, def string) string {
	l = strings.ToLower(strings.TrimSpace(l))
	switch {
	case l == "ja" || strings.HasPrefix(l, "ja-") || strings.HasPrefix(l, "ja_"):
		return "ja"
	case l == "en" || strings.HasPrefix(l, "en-") || strings.HasPrefix(l, "en_"):
		return "en"
	}
	if def == "" {
		return "en"
	}
	return def
}

// redact removes addr, and anything else that looks like an address, from
// an error text before it is logged or stored as last_error.
func redact(text, addr string) string {
	if addr != "" {
		text = strings.ReplaceAll(text, addr, "[address]")
	}
	text = httpkit.RedactEmails(text)
	return cut(text, 1000)
}

// cut shortens s to at most n bytes without splitting a character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
