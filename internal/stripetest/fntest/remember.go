package fntest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"billing/internal/stripetest"
)

// RememberUpdates makes e's proxy keep what Stripe's answer to an update
// of a subscription Subscribe added says about its cancellation, as Stripe
// would: later reads and updates (of e and of every function the
// subscriptions are mirrored to) start from it. Like Stripe (API
// 2023-10-16), cancel_at_period_end=true sets cancel_at to the period end,
// and cancel_at_period_end=false on a subscription cancelling at its
// period end clears cancel_at. Call it after MirrorTo(e) (or on the
// Subscribers' own Env).
func (s *Subscribers) RememberUpdates(e *Env) {
	e.Proxy.Rewrite(http.MethodPost, "/v1/subscriptions/", func(req stripetest.Request, body map[string]any) {
		id := strings.TrimPrefix(req.Path, "/v1/subscriptions/")
		s.mu.Lock()
		defer s.mu.Unlock()
		sub, ok := s.subs[id]
		if !ok {
			return
		}
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
			if v := req.Form.Get("cancel_at"); v != "" {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					t := time.Unix(n, 0).UTC()
					sub.CancelAt = &t
				}
			}
		}
		s.subs[id] = sub
		body["cancel_at_period_end"] = sub.CancelAtPeriodEnd
		if sub.CancelAt != nil {
			body["cancel_at"] = sub.CancelAt.Unix()
		} else {
			body["cancel_at"] = nil
		}
	})
}
