package loaddriver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

// FixturePrice is the price of the peer-benchmark fixture's item; a catalog
// that maps it to a plan makes the fixture's events apply.
const FixturePrice = "price_1QAbCdEfGhIjKlMnOpQrStUv"

// EventTemplate is the 4 KB customer.subscription.updated event the
// TypeScript peers were measured on (testdata/customer.subscription.updated.json),
// decoded once so that Event can vary its IDs and times.
type EventTemplate struct {
	ev map[string]any
}

// LoadEventTemplate reads the fixture at path.
func LoadEventTemplate(path string) (*EventTemplate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("loaddriver: %s: %w", path, err)
	}
	return &EventTemplate{ev: ev}, nil
}

// Event returns the fixture as event eventID about subscription subID of
// customer customerID, created at created, renewing normally over a period
// from periodStart to periodEnd. The result has the fixture's shape and
// about its size.
func (t *EventTemplate) Event(eventID, subID, customerID string, created, periodStart, periodEnd time.Time) []byte {
	ev := deepCopy(t.ev).(map[string]any)
	ev["id"] = eventID
	ev["created"] = created.Unix()
	obj := ev["data"].(map[string]any)["object"].(map[string]any)
	obj["id"] = subID
	obj["customer"] = customerID
	obj["cancel_at_period_end"] = false
	obj["cancel_at"] = nil
	obj["canceled_at"] = nil
	obj["cancellation_details"] = map[string]any{"comment": nil, "feedback": nil, "reason": nil}
	items := obj["items"].(map[string]any)
	items["url"] = "/v1/subscription_items?subscription=" + subID
	for _, it := range items["data"].([]any) {
		item := it.(map[string]any)
		item["subscription"] = subID
		item["current_period_start"] = periodStart.Unix()
		item["current_period_end"] = periodEnd.Unix()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err) // a decoded JSON value always encodes
	}
	return b
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// Sign returns the Stripe-Signature header Stripe would send for body,
// signed with secret at ts (v1 = HMAC-SHA256 of "<ts>.<body>").
func Sign(body []byte, secret string, ts time.Time) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
