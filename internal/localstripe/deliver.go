package localstripe

import (
	"context"
	"encoding/json"
	"time"

	"billing/internal/ops"
)

// APIVersion is the API version of the events sent: stripe-go v76's.
const APIVersion = "2023-10-16"

// event is one Stripe event to send, its payload made when it happened.
type event struct {
	ID, Type, ObjectID string
	Payload            []byte
}

// Delivery is one event sent to the webhook and its answer.
type Delivery struct {
	EventID  string    `json:"eventId"`
	Type     string    `json:"type"`
	ObjectID string    `json:"objectId"`
	Status   int       `json:"status"` // the webhook's HTTP status, 0 when it could not be reached
	Response string    `json:"response,omitempty"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
}

// batch is events sent in order; done is closed when they were.
type batch struct {
	events []event
	done   chan []Delivery
}

// newEvent makes an event of typ about obj (a snapshot now), with the
// previous values of what changed.
func (s *Server) newEvent(typ string, obj map[string]any, previous map[string]any) event {
	data := map[string]any{"object": obj}
	if len(previous) > 0 {
		data["previous_attributes"] = previous
	}
	id := newID("evt")
	payload, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": APIVersion,
		"created": unix(s.opt.Now()), "livemode": false, "pending_webhooks": 1, "type": typ, "data": data,
		"request": map[string]any{"id": nil, "idempotency_key": nil}})
	oid, _ := obj["id"].(string)
	return event{ID: id, Type: typ, ObjectID: oid, Payload: payload}
}

// enqueue sends events after the API answer, as Stripe does (in order,
// one batch after the other); the caller holds s.mu.
func (s *Server) enqueue(events []event) {
	if len(events) == 0 || s.opt.WebhookURL == "" {
		return
	}
	s.queue <- batch{events: events}
}

// send sends events and waits until the webhook answered them.
func (s *Server) send(events []event) []Delivery {
	if len(events) == 0 || s.opt.WebhookURL == "" {
		return []Delivery{}
	}
	done := make(chan []Delivery, 1)
	s.queue <- batch{events: events, done: done}
	return <-done
}

// sender delivers the queued batches one at a time.
func (s *Server) sender() {
	defer close(s.done)
	for b := range s.queue {
		out := make([]Delivery, 0, len(b.events))
		for _, ev := range b.events {
			out = append(out, s.deliver(ev))
		}
		s.mu.Lock()
		s.st.Deliveries = append(s.st.Deliveries, out...)
		if n := len(s.st.Deliveries); n > maxDeliveries {
			s.st.Deliveries = s.st.Deliveries[n-maxDeliveries:]
		}
		_ = s.save()
		s.mu.Unlock()
		if b.done != nil {
			b.done <- out
		}
	}
}

// deliver posts one signed event, retrying a few times when the webhook
// cannot be reached or answers 5xx (as Stripe retries, but sooner).
func (s *Server) deliver(ev event) Delivery {
	d := Delivery{EventID: ev.ID, Type: ev.Type, ObjectID: ev.ObjectID}
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		code, body, err := ops.SendEvent(ctx, s.opt.Client, s.opt.WebhookURL, ev.Payload, s.opt.WebhookSecret)
		cancel()
		d.At, d.Status, d.Error = s.opt.Now().UTC(), code, ""
		if err != nil {
			d.Error = err.Error()
			continue
		}
		d.Response = truncate(string(body), 300)
		if code < 500 {
			break
		}
	}
	s.opt.Log.Info("localstripe: event sent", "event_id", ev.ID, "type", ev.Type, "object_id", ev.ObjectID,
		"status", d.Status)
	return d
}

// Deliveries returns the latest webhook deliveries, newest last.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery{}, s.st.Deliveries...)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
