package access

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestMarshalJSONGolden(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name string
		cat  string // "" for the default catalog, else an example name
		subs []Subscription
		now  time.Time
		want string
	}{
		{
			name: "cancelling standard, still granting",
			subs: []Subscription{sub(func(s *Subscription) { s.CancelAtPeriodEnd = true })},
			now:  mid,
			want: `{"subscribed":true,"isSubscribed":true,"plan":"standard","planType":"standard","status":"active",` +
				`"cancelAtPeriodEnd":true,"currentPeriodEnd":"2026-12-26T00:00:00Z","renewalDate":"2026-12-26T00:00:00Z",` +
				`"accessUntil":"2026-12-26T00:00:00Z","entitlements":{"learning_access":true,"member_access":true},` +
				`"hasLearningAccess":true,"hasMemberAccess":true,"limits":{"properties":10},"scheduledPlan":null,"scheduledChangeAt":null}`,
		},
		{
			name: "renewing premium: null accessUntil and unlimited limit",
			subs: []Subscription{sub(func(s *Subscription) { s.Plan = "premium" })},
			now:  mid,
			want: `{"subscribed":true,"isSubscribed":true,"plan":"premium","planType":"premium","status":"active",` +
				`"cancelAtPeriodEnd":false,"currentPeriodEnd":"2026-12-26T00:00:00Z","renewalDate":"2026-12-26T00:00:00Z",` +
				`"accessUntil":null,"entitlements":{"learning_access":true,"member_access":true},` +
				`"hasLearningAccess":true,"hasMemberAccess":true,"limits":{"properties":null},"scheduledPlan":null,"scheduledChangeAt":null}`,
		},
		{
			name: "no subscription: nulls and the free plan",
			now:  mid,
			want: `{"subscribed":false,"isSubscribed":false,"plan":"free","planType":null,"status":null,` +
				`"cancelAtPeriodEnd":false,"currentPeriodEnd":null,"renewalDate":null,"accessUntil":null,` +
				`"entitlements":{"learning_access":false,"member_access":false},` +
				`"hasLearningAccess":false,"hasMemberAccess":false,"limits":{"properties":3},"scheduledPlan":null,"scheduledChangeAt":null}`,
		},
		{
			name: "ended cancel shown with times in UTC whole seconds",
			subs: []Subscription{sub(func(s *Subscription) {
				s.Status, s.CancelAtPeriodEnd = StatusCanceled, true
				s.CurrentPeriodEnd = time.Date(2026, 12, 26, 9, 0, 0, 999_000_000, jst)
			})},
			now: periodEnd.Add(time.Minute),
			want: `{"subscribed":false,"isSubscribed":false,"plan":"free","planType":"standard","status":"canceled",` +
				`"cancelAtPeriodEnd":true,"currentPeriodEnd":"2026-12-26T00:00:00Z","renewalDate":"2026-12-26T00:00:00Z",` +
				`"accessUntil":"2026-12-26T00:00:00Z","entitlements":{"learning_access":false,"member_access":false},` +
				`"hasLearningAccess":false,"hasMemberAccess":false,"limits":{"properties":3},"scheduledPlan":null,"scheduledChangeAt":null}`,
		},
		{
			name: "premium with a downgrade to standard scheduled at the period end",
			subs: []Subscription{sub(func(s *Subscription) {
				s.Plan, s.ScheduledPlan = "premium", "standard"
				at := periodEnd
				s.ScheduledChangeAt = &at
			})},
			now: mid,
			want: `{"subscribed":true,"isSubscribed":true,"plan":"premium","planType":"premium","status":"active",` +
				`"cancelAtPeriodEnd":false,"currentPeriodEnd":"2026-12-26T00:00:00Z","renewalDate":"2026-12-26T00:00:00Z",` +
				`"accessUntil":null,"entitlements":{"learning_access":true,"member_access":true},` +
				`"hasLearningAccess":true,"hasMemberAccess":true,"limits":{"properties":null},` +
				`"scheduledPlan":"standard","scheduledChangeAt":"2026-12-26T00:00:00Z"}`,
		},
		{
			name: "race-data has keys with digits, no limits",
			cat:  "race-data",
			subs: []Subscription{sub(nil)},
			now:  mid,
			want: `{"subscribed":true,"isSubscribed":true,"plan":"standard","planType":"standard","status":"active",` +
				`"cancelAtPeriodEnd":false,"currentPeriodEnd":"2026-12-26T00:00:00Z","renewalDate":"2026-12-26T00:00:00Z",` +
				`"accessUntil":null,"entitlements":{"race_10r_12r":true,"race_11r":true,"race_1r_9r":false,"race_detail":true},` +
				`"hasRace10r12r":true,"hasRace11r":true,"hasRace1r9r":false,"hasRaceDetail":true,"limits":{},"scheduledPlan":null,"scheduledChangeAt":null}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := catalog(t, false)
			if tt.cat != "" {
				cat = example(t, tt.cat)
			}
			r := Compute(tt.subs, cat, tt.now)
			got, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("body:\n got %s\nwant %s", got, tt.want)
			}
			if ptrBody, _ := json.Marshal(&r); string(ptrBody) != string(got) {
				t.Errorf("pointer marshals differently: %s", ptrBody)
			}
			var decoded map[string]any
			if err := json.Unmarshal(got, &decoded); err != nil {
				t.Fatalf("invalid JSON: %v", err)
			}
		})
	}
}

func TestMarshalJSONZeroResult(t *testing.T) {
	got, err := json.Marshal(Result{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"subscribed":false,"isSubscribed":false,"plan":"","planType":null,"status":null,"cancelAtPeriodEnd":false,` +
		`"currentPeriodEnd":null,"renewalDate":null,"accessUntil":null,"entitlements":{},"limits":{},"scheduledPlan":null,"scheduledChangeAt":null}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestHasKey(t *testing.T) {
	tests := map[string]string{
		"member_access":   "hasMemberAccess",
		"learning_access": "hasLearningAccess",
		"race_11r":        "hasRace11r",
		"race_10r_12r":    "hasRace10r12r",
		"race_1r_9r":      "hasRace1r9r",
		"simulation":      "hasSimulation",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := HasKey(in); got != want {
				t.Errorf("HasKey(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 12, 26, 0, 0, 0, 0, time.UTC), "2026-12-26T00:00:00Z"},
		{time.Date(2026, 12, 26, 9, 0, 0, 0, time.FixedZone("JST", 9*3600)), "2026-12-26T00:00:00Z"},
		{time.Date(2026, 12, 25, 23, 59, 59, 999_999_999, time.UTC), "2026-12-25T23:59:59Z"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatTime(tt.in); got != tt.want {
				t.Errorf("FormatTime(%v) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestWriteStringAsEncodingJSON: a string is written exactly as
// encoding/json writes it, whether it is passed through as it is or has
// something to escape (quotes, backslashes, control characters, HTML
// characters, non-ASCII, U+2028, invalid UTF-8).
func TestWriteStringAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "standard", "member_access", "2026-12-26T00:00:00Z", `a"b`, `a\b`, "a\nb", "\x00", "\x1f",
		"<script>", "a&b", "a>b", "é", "日本", "\u2028", "\xff", "a\x7fb", " ~!#$%'()*+,-./:;=?@[]^_`{|}"} {
		var b bytes.Buffer
		writeString(&b, s)
		want, _ := json.Marshal(s)
		if b.String() != string(want) {
			t.Errorf("writeString(%q) = %s, encoding/json %s", s, b.String(), want)
		}
	}
}

// TestAppendJSONIsWhatMarshalWrites: the body WriteJSON appends as it is
// is valid JSON and byte for byte what json.Marshal (which checks and
// compacts a Marshaler's output) makes of the result, with every part set.
func TestAppendJSONIsWhatMarshalWrites(t *testing.T) {
	end := time.Date(2026, 12, 26, 0, 0, 0, 0, time.UTC)
	plan, status := "premium", "active"
	ten := 10
	r := Result{Subscribed: true, Plan: "premium", PlanType: &plan, Status: &status, CurrentPeriodEnd: &end,
		AccessUntil: &end, Entitlements: map[string]bool{"member_access": true, "learning_access": false},
		Limits: map[string]*int{"properties": &ten, "seats": nil}, ScheduledPlan: &plan, ScheduledChangeAt: &end}
	got := r.AppendJSON([]byte("prefix:"))
	if !bytes.HasPrefix(got, []byte("prefix:")) || !json.Valid(got[len("prefix:"):]) {
		t.Fatalf("AppendJSON = %s", got)
	}
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[len("prefix:"):]) != string(want) {
		t.Fatalf("AppendJSON %s\njson.Marshal %s", got, want)
	}
}
