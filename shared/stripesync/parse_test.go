package stripesync_test

import (
	"errors"
	"testing"
	"time"

	"billing/shared/stripesync"
)

func unix(n int64) *time.Time {
	t := time.Unix(n, 0).UTC()
	return &t
}

func TestParseSubscriptionShapes(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		wantPrice string
		wantEnd   *time.Time
		wantUser  string
		wantQty   int64
		wantErr   error
	}{
		{"2023-10-16: top-level periods, price on the item",
			`{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active","current_period_start":100,"current_period_end":200,
			  "items":{"data":[{"price":{"id":"price_a"},"plan":{"id":"price_a"},"quantity":2}]},"metadata":{"supabase_uid":"11111111-1111-4111-8111-11111111111A"}}`,
			"price_a", unix(200), "11111111-1111-4111-8111-11111111111a", 2, nil},
		{"2025-03-31.basil: periods on the item, price differs from the legacy plan id",
			`{"id":"sub_2","object":"subscription","customer":{"id":"cus_2","object":"customer"},"status":"trialing",
			  "items":{"data":[{"price":{"id":"price_b"},"plan":{"id":"obj_123"},"current_period_start":300,"current_period_end":400}]}}`,
			"price_b", unix(400), "", 0, nil},
		{"2019: the item carries only a plan",
			`{"id":"sub_3","customer":"cus_3","status":"past_due","current_period_end":500,"quantity":1,"items":{"data":[{"plan":{"id":"plan_c"}}]}}`,
			"plan_c", unix(500), "", 1, nil},
		{"before 2018: a top-level plan and no items",
			`{"id":"su_4","customer":"cus_4","status":"trialing","plan":{"id":"plan_d"},"current_period_end":600,"start":50}`,
			"plan_d", unix(600), "", 0, nil},
		{"metadata that is not a UUID is no user",
			`{"id":"sub_5","customer":"cus_5","status":"active","items":{"data":[{"price":{"id":"p"}}]},"metadata":{"supabase_uid":"user_2"}}`,
			"p", nil, "", 0, nil},
		{"no price", `{"id":"sub_6","customer":"cus_6","status":"active","items":{"data":[]}}`, "", nil, "", 0, stripesync.ErrUnreadable},
		{"no customer", `{"id":"sub_7","status":"active","items":{"data":[{"price":{"id":"p"}}]}}`, "p", nil, "", 0, stripesync.ErrUnreadable},
		{"another object", `{"id":"in_1","object":"invoice","customer":"cus_1","status":"paid"}`, "", nil, "", 0, stripesync.ErrUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := stripesync.ParseSubscription([]byte(tt.raw))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.PriceID != tt.wantPrice || s.UserID != tt.wantUser || s.Quantity != tt.wantQty {
				t.Fatalf("price %q user %q qty %d", s.PriceID, s.UserID, s.Quantity)
			}
			if (s.CurrentPeriodEnd == nil) != (tt.wantEnd == nil) || (s.CurrentPeriodEnd != nil && !s.CurrentPeriodEnd.Equal(*tt.wantEnd)) {
				t.Fatalf("period end %v, want %v", s.CurrentPeriodEnd, tt.wantEnd)
			}
		})
	}
	if _, err := stripesync.ParseSubscription([]byte(`[1]`)); err == nil {
		t.Fatal("an array is not a subscription")
	}
}

func TestScheduledEnd(t *testing.T) {
	end, at := unix(1000), unix(900)
	tests := []struct {
		name string
		s    stripesync.Subscription
		want *time.Time
	}{
		{"renewing", stripesync.Subscription{CurrentPeriodEnd: end}, nil},
		{"at period end", stripesync.Subscription{CurrentPeriodEnd: end, CancelAtPeriodEnd: true}, end},
		{"cancel_at", stripesync.Subscription{CurrentPeriodEnd: end, CancelAt: at}, at},
		{"both: the earlier", stripesync.Subscription{CurrentPeriodEnd: end, CancelAtPeriodEnd: true, CancelAt: unix(2000)}, end},
	}
	for _, tt := range tests {
		got := tt.s.ScheduledEnd()
		if (got == nil) != (tt.want == nil) || (got != nil && !got.Equal(*tt.want)) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseInvoiceShapes(t *testing.T) {
	tests := []struct{ name, raw, wantSub string }{
		{"before basil", `{"id":"in_1","object":"invoice","subscription":"sub_old","customer":"cus_1","attempt_count":2}`, "sub_old"},
		{"basil: parent.subscription_details", `{"id":"in_2","customer":"cus_1","parent":{"type":"subscription_details","subscription_details":{"subscription":"sub_new"}}}`, "sub_new"},
		{"hybrid: parent first", `{"id":"in_3","subscription":"sub_old","parent":{"subscription_details":{"subscription":"sub_new"}}}`, "sub_new"},
		{"basil, parent null", `{"id":"in_4","subscription":null,"parent":null}`, ""},
		{"expanded subscription", `{"id":"in_5","subscription":{"id":"sub_x","object":"subscription"}}`, "sub_x"},
	}
	for _, tt := range tests {
		inv, err := stripesync.ParseInvoice([]byte(tt.raw))
		if err != nil || inv.SubscriptionID != tt.wantSub {
			t.Errorf("%s: %q, %v", tt.name, inv.SubscriptionID, err)
		}
	}
	if inv, _ := stripesync.ParseInvoice([]byte(`{"id":"in_1","attempt_count":2,"next_payment_attempt":1700000000}`)); inv.AttemptCount != 2 || inv.NextPaymentAttempt == nil {
		t.Errorf("attempt fields: %+v", inv)
	}
}

func TestParseCheckoutSessionUser(t *testing.T) {
	const uid = "11111111-1111-4111-8111-111111111111"
	tests := []struct{ name, raw, want string }{
		{"ours: both agree", `{"id":"cs_0","client_reference_id":"` + uid + `","metadata":{"supabase_uid":"` + uid + `"}}`, uid},
		{"client_reference_id alone (a Payment Link) is not trusted", `{"id":"cs_1","client_reference_id":"` + uid + `","metadata":{}}`, ""},
		{"metadata only", `{"id":"cs_2","client_reference_id":null,"metadata":{"supabase_uid":"` + uid + `"}}`, uid},
		{"they disagree", `{"id":"cs_4","client_reference_id":"22222222-2222-4222-8222-222222222222","metadata":{"supabase_uid":"` + uid + `"}}`, ""},
		{"not a UUID", `{"id":"cs_3","client_reference_id":"42","metadata":{"supabase_uid":"x"}}`, ""},
	}
	for _, tt := range tests {
		cs, err := stripesync.ParseCheckoutSession([]byte(tt.raw))
		if err != nil || cs.UserID() != tt.want {
			t.Errorf("%s: %q, %v", tt.name, cs.UserID(), err)
		}
	}
}

func TestParseEventEnvelopes(t *testing.T) {
	tests := []struct {
		name, raw string
		ok        bool
	}{
		{"current", `{"id":"evt_1","object":"event","api_version":"2025-03-31.basil","created":1,"type":"invoice.paid","livemode":true,"request":{"id":null},"data":{"object":{"id":"in_1"}}}`, true},
		{"before 2017: request is a string", `{"id":"evt_2","object":"event","created":1,"type":"invoice.paid","request":"req_1","data":{"object":{"id":"in_1"}}}`, true},
		{"no api_version", `{"id":"evt_3","created":1,"type":"x","data":{"object":{}}}`, true},
		{"no data.object", `{"id":"evt_4","created":1,"type":"x","data":{}}`, false},
		{"data.object not an object", `{"id":"evt_5","created":1,"type":"x","data":{"object":"in_1"}}`, false},
		{"no created", `{"id":"evt_6","type":"x","data":{"object":{}}}`, false},
		{"not an event", `{"id":"cus_1","object":"customer","created":1,"type":"x","data":{"object":{}}}`, false},
		{"not JSON", `{"id":`, false},
	}
	for _, tt := range tests {
		ev, err := stripesync.ParseEvent([]byte(tt.raw))
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
		if tt.ok && (ev.ID == "" || ev.Created.Unix() != 1) {
			t.Errorf("%s: %+v", tt.name, ev)
		}
	}
}

func TestEmailsDependOnTheObjectOnly(t *testing.T) {
	s := &stripesync.Syncer{Catalog: catalog(t)}
	base := stripesync.State{Subscription: stripesync.Subscription{ID: "sub_1", CustomerID: "cus_1",
		CurrentPeriodEnd: unix(2000)}, Plan: "standard"}
	keys := func(st stripesync.State) []string {
		var out []string
		for _, e := range s.SubscriptionEmails(st) {
			out = append(out, e.DedupeKey)
		}
		return out
	}
	active := base
	active.Status = "active"
	scheduled := active
	scheduled.CancelAtPeriodEnd, scheduled.CanceledAt = true, unix(1500)
	canceled := base
	canceled.Status, canceled.EndedAt = "canceled", unix(2000)
	pastDue := base
	pastDue.Status = "past_due"
	tests := []struct {
		name string
		st   stripesync.State
		want []string
	}{
		{"active", active, []string{"welcome:sub_1"}},
		{"scheduled cancel", scheduled, []string{"welcome:sub_1", "cancellation_scheduled:sub_1:1500"}},
		{"canceled", canceled, []string{"subscription_ended:sub_1"}},
		{"past_due", pastDue, nil},
	}
	for _, tt := range tests {
		got := keys(tt.st)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			}
		}
	}
	e := s.PaymentFailedEmail(stripesync.Invoice{ID: "in_1", SubscriptionID: "sub_1", AttemptCount: 3})
	if e.DedupeKey != "payment_failed:in_1:3" || e.TemplateData["portal_path"] != "/account" {
		t.Errorf("payment failed: %+v", e)
	}
	for _, em := range append(s.SubscriptionEmails(scheduled), e) {
		for k := range em.TemplateData {
			if k == "email" || k == "to" {
				t.Errorf("template data must not carry an address: %v", em.TemplateData)
			}
		}
	}
}
