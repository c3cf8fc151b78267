package fntest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"billing/internal/stripetest"
)

// RememberUpdates makes e's proxy keep what an update of a subscription
// Subscribe added changes about its cancellation and metadata, as Stripe
// would: later reads and updates (of e and of every function the
// subscriptions are mirrored to and that remembers too) start from it. Like
// Stripe (API 2023-10-16), cancel_at_period_end=true sets cancel_at to the
// period end, cancel_at_period_end=false on a subscription cancelling at
// its period end clears cancel_at, and an empty metadata value unsets the
// key. Call it after MirrorTo(e) (or on the Subscribers' own Env); the
// remembered metadata is shared by every Env it is called for.
func (s *Subscribers) RememberUpdates(e *Env) {
	s.mu.Lock()
	if s.metadata == nil {
		s.metadata = map[string]map[string]string{}
	}
	s.mu.Unlock()
	e.Proxy.Rewrite("", "/v1/subscriptions/", func(req stripetest.Request, body map[string]any) {
		id := strings.TrimPrefix(req.Path, "/v1/subscriptions/")
		s.mu.Lock()
		defer s.mu.Unlock()
		sub, ok := s.subs[id]
		if !ok {
			return
		}
		if req.Method == http.MethodPost {
			sub = remember(req, sub, s.metadata, id)
			s.subs[id] = sub
		}
		body["cancel_at_period_end"] = sub.CancelAtPeriodEnd
		if sub.CancelAt != nil {
			body["cancel_at"] = sub.CancelAt.Unix()
		} else {
			body["cancel_at"] = nil
		}
		md, _ := body["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
		}
		for k, v := range s.metadata[id] {
			md[k] = v
		}
		body["metadata"] = md
	})
}

// remember applies an update request to sub and to the metadata of id.
func remember(req stripetest.Request, sub Sub, metadata map[string]map[string]string, id string) Sub {
	switch req.Form.Get("cancel_at_period_end") {
	case "true":
		sub.CancelAtPeriodEnd = true
		end := sub.PeriodEnd
		sub.CancelAt = &end
	case "false":
		if sub.CancelAtPeriodEnd {
			sub.CancelAt = nil
		}
		sub.CancelAtPeriodEnd = false
	}
	if req.Form.Has("cancel_at") {
		sub.CancelAt = nil
		if n, err := strconv.ParseInt(req.Form.Get("cancel_at"), 10, 64); err == nil {
			t := time.Unix(n, 0).UTC()
			sub.CancelAt = &t
		}
	}
	for k, v := range req.Form {
		key, ok := strings.CutPrefix(k, "metadata[")
		if !ok || !strings.HasSuffix(key, "]") || len(v) == 0 {
			continue
		}
		key = strings.TrimSuffix(key, "]")
		if metadata[id] == nil {
			metadata[id] = map[string]string{}
		}
		if v[0] == "" {
			delete(metadata[id], key)
		} else {
			metadata[id][key] = v[0]
		}
	}
	return sub
}
