package plans

import (
	"strings"
	"testing"
)

// env is a fake environment; lookups of other names return "".
type env map[string]string

func (e env) get(name string) string { return e[name] }

// testEnv has both modes' prices of every plan the examples use.
var testEnv = env{
	"STRIPE_STANDARD_PRICE_ID_TEST":  "price_standard_test",
	"STRIPE_STANDARD_PRICE_ID_LIVE":  "price_standard_live",
	"STRIPE_PREMIUM_PRICE_ID_TEST":   "price_premium_test",
	"STRIPE_PREMIUM_PRICE_ID_LIVE":   "price_premium_live",
	"STRIPE_BASIC_PRICE_ID_TEST":     "price_basic_test",
	"STRIPE_BASIC_PRICE_ID_LIVE":     "price_basic_live",
	"STRIPE_GROWTH_PRICE_ID_TEST":    "price_growth_test",
	"STRIPE_GROWTH_PRICE_ID_LIVE":    "price_growth_live",
	"STRIPE_COMMUNITY_PRICE_ID_TEST": "price_community_test",
	"STRIPE_COMMUNITY_PRICE_ID_LIVE": "price_community_live",
	"STRIPE_FEEDBACK_PRICE_ID_TEST":  "price_feedback_test",
	"STRIPE_FEEDBACK_PRICE_ID_LIVE":  "price_feedback_live",
}

// freePlan is a valid free plan entry for building test documents.
const freePlan = `{"id": "free", "limits": {"properties": 3}}`

// catalogWith returns a catalog document with free_plan "free", the free
// plan, and the given extra plan entries.
func catalogWith(extra ...string) string {
	return `{"free_plan": "free", "plans": [` + strings.Join(append([]string{freePlan}, extra...), ",") + `]}`
}

func TestParseErrors(t *testing.T) {
	const std = `"price_ids": {"test": "price_s_test", "live": "price_s_live"}`
	tests := []struct {
		name string
		doc  string
		mode string
		want string // the whole error message
	}{
		{"bad mode", catalogWith(), "prod",
			`plans: mode "prod": must be "test" or "live"`},
		{"not json", `{"free_plan": `, "test",
			`plans: unexpected EOF`},
		{"empty document", ``, "test",
			`plans: empty document`},
		{"array document", `[]`, "test",
			`plans: expected a JSON object, got JSON array`},
		{"trailing data", catalogWith() + `{}`, "test",
			`plans: unexpected data after the JSON value`},
		{"unknown top-level field", `{"free_plan": "free", "mode": "test", "plans": [` + freePlan + `]}`, "test",
			`plans: unknown field "mode"`},
		{"unknown plan field", catalogWith(`{"id": "standard", "price": "price_x", ` + std + `}`), "test",
			`plans: plan "standard": unknown field "price"`},
		{"unknown price_ids mode", catalogWith(`{"id": "standard", "price_ids": {"test": "price_a", "prod": "price_b"}}`), "test",
			`plans: plan "standard": unknown field "prod"`},
		{"unknown field in plan without id", catalogWith(`{"idd": "standard"}`), "test",
			`plans: plans[1]: unknown field "idd"`},
		{"limit of wrong type", catalogWith(`{"id": "standard", ` + std + `, "limits": {"properties": "ten"}}`), "test",
			`plans: plan "standard": limits.properties: "ten" is not an integer or null`},
		{"fractional limit", catalogWith(`{"id": "standard", ` + std + `, "limits": {"properties": 1.5}}`), "test",
			`plans: plan "standard": limits.properties: 1.5 is not an integer or null`},
		{"trial_days of wrong type", catalogWith(`{"id": "standard", ` + std + `, "trial_days": "14"}`), "test",
			`plans: plan "standard": trial_days: expected an integer, got JSON string`},
		{"entitlements not an array", catalogWith(`{"id": "standard", ` + std + `, "entitlements": "member_access"}`), "test",
			`plans: plan "standard": entitlements: expected an array, got JSON string`},
		{"past_due switch of wrong type", `{"free_plan": "free", "past_due_keeps_access": "yes", "plans": [` + freePlan + `]}`, "test",
			`plans: past_due_keeps_access: expected true or false, got JSON string`},
		{"missing free_plan", `{"plans": [` + freePlan + `]}`, "test",
			`plans: free_plan: missing`},
		{"free_plan not defined", `{"free_plan": "basic", "plans": [` + freePlan + `]}`, "test",
			`plans: free_plan: plan "basic" is not defined in plans`},
		{"no plans", `{"free_plan": "free", "plans": []}`, "test",
			`plans: plans: the catalog has no plans`},
		{"bad time zone", `{"free_plan": "free", "usage_time_zone": "Asia/Osaka", "plans": [` + freePlan + `]}`, "test",
			`plans: usage_time_zone: "Asia/Osaka" is not an IANA time zone name`},
		{"Local time zone", `{"free_plan": "free", "usage_time_zone": "Local", "plans": [` + freePlan + `]}`, "test",
			`plans: usage_time_zone: "Local" is not an IANA time zone name`},
		{"missing id", catalogWith(`{` + std + `}`), "test",
			`plans: plans[1]: id: missing`},
		{"id not snake case", catalogWith(`{"id": "Standard", ` + std + `}`), "test",
			`plans: plans[1]: id: "Standard" is not lower_snake_case`},
		{"id with dash", catalogWith(`{"id": "pro-plan", ` + std + `}`), "test",
			`plans: plans[1]: id: "pro-plan" is not lower_snake_case`},
		{"duplicate id", catalogWith(freePlan), "test",
			`plans: plan "free": id: defined more than once`},
		{"free plan with price", `{"free_plan": "free", "plans": [{"id": "free", "price_ids": {"live": "price_free"}}]}`, "test",
			`plans: plan "free": price_ids: the free plan must not have price ids`},
		{"paid plan without prices", catalogWith(`{"id": "standard"}`), "test",
			`plans: plan "standard": price_ids.test: missing (a paid plan needs a price id for mode "test")`},
		{"paid plan without current mode price", catalogWith(`{"id": "standard", "price_ids": {"test": "price_s_test"}}`), "live",
			`plans: plan "standard": price_ids.live: missing (a paid plan needs a price id for mode "live")`},
		{"unset variable names it", catalogWith(`{"id": "standard", "price_ids": {"test": "${STRIPE_STANDARD_PRICE_ID_TEST}"}}`), "test",
			`plans: plan "standard": price_ids.test: environment variable STRIPE_STANDARD_PRICE_ID_TEST is not set`},
		{"empty variable names it", catalogWith(`{"id": "standard", "price_ids": {"test": "price_a", "live": "${EMPTY}"}}`), "live",
			`plans: plan "standard": price_ids.live: environment variable EMPTY is not set`},
		{"malformed reference", catalogWith(`{"id": "standard", "price_ids": {"test": "${STRIPE_STANDARD"}}`), "test",
			`plans: plan "standard": price_ids.test: "${STRIPE_STANDARD" has a malformed variable reference (want ${NAME})`},
		{"bare dollar", catalogWith(`{"id": "standard", "price_ids": {"test": "$PRICE"}}`), "test",
			`plans: plan "standard": price_ids.test: "$PRICE" has a malformed variable reference (want ${NAME})`},
		{"malformed reference in other mode", catalogWith(`{"id": "standard", "price_ids": {"test": "price_a", "live": "${}"}}`), "test",
			`plans: plan "standard": price_ids.live: "${}" has a malformed variable reference (want ${NAME})`},
		{"price with whitespace", catalogWith(`{"id": "standard", "price_ids": {"test": "price_a b"}}`), "test",
			`plans: plan "standard": price_ids.test: price id "price_a b" contains whitespace`},
		{"expanded price with whitespace", catalogWith(`{"id": "standard", "price_ids": {"test": "${SPACED}"}}`), "test",
			`plans: plan "standard": price_ids.test: price id "price_a\n" contains whitespace`},
		{"price without prefix", catalogWith(`{"id": "standard", "price_ids": {"test": "prod_123"}}`), "test",
			`plans: plan "standard": price_ids.test: price id "prod_123" does not start with "price_" or "plan_"`},
		{"bare prefix", catalogWith(`{"id": "standard", "price_ids": {"test": "price_"}}`), "test",
			`plans: plan "standard": price_ids.test: price id "price_" does not start with "price_" or "plan_"`},
		{"other mode price validated too", catalogWith(`{"id": "standard", "price_ids": {"test": "price_a", "live": "sk_live_x"}}`), "test",
			`plans: plan "standard": price_ids.live: price id "sk_live_x" does not start with "price_" or "plan_"`},
		{"price shared by two plans", catalogWith(`{"id": "standard", "price_ids": {"test": "price_a"}}`, `{"id": "premium", "price_ids": {"test": "price_a"}}`), "test",
			`plans: plan "premium": price_ids.test: price id "price_a" is also used by plan "standard" price_ids.test`},
		{"price shared by two modes", catalogWith(`{"id": "standard", "price_ids": {"test": "price_a", "live": "price_a"}}`), "test",
			`plans: plan "standard": price_ids.live: price id "price_a" is also used by plan "standard" price_ids.test`},
		{"entitlement not snake case", catalogWith(`{"id": "standard", ` + std + `, "entitlements": ["memberAccess"]}`), "test",
			`plans: plan "standard": entitlements: "memberAccess" is not lower_snake_case`},
		{"entitlement with variable", catalogWith(`{"id": "standard", ` + std + `, "entitlements": ["${X}"]}`), "test",
			`plans: plan "standard": entitlements: "${X}" is not lower_snake_case`},
		{"entitlement twice", catalogWith(`{"id": "standard", ` + std + `, "entitlements": ["member_access", "member_access"]}`), "test",
			`plans: plan "standard": entitlements: "member_access" is listed twice`},
		{"entitlements with the same has key", catalogWith(`{"id": "standard", ` + std + `, "entitlements": ["race_11r", "race11r"]}`), "test",
			`plans: plan "standard": entitlements: "race_11r" and "race11r" both become hasRace11r`},
		{"limit name not snake case", catalogWith(`{"id": "standard", ` + std + `, "limits": {"Properties": 3}}`), "test",
			`plans: plan "standard": limits: name "Properties" is not lower_snake_case`},
		{"negative limit", catalogWith(`{"id": "standard", ` + std + `, "limits": {"properties": -1}}`), "test",
			`plans: plan "standard": limits.properties: -1 is negative (use null for unlimited)`},
		{"negative trial", catalogWith(`{"id": "standard", ` + std + `, "trial_days": -1}`), "test",
			`plans: plan "standard": trial_days: -1 is not within 0..730`},
		{"trial too long", catalogWith(`{"id": "standard", ` + std + `, "trial_days": 731}`), "test",
			`plans: plan "standard": trial_days: 731 is not within 0..730`},
		{"control character in name", catalogWith(`{"id": "standard", "name": "Std\u0007", ` + std + `}`), "test",
			`plans: plan "standard": name: contains a control character`},
	}
	getenv := env{"EMPTY": "", "SPACED": "price_a\n"}.get
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc), tt.mode, getenv)
			if err == nil {
				t.Fatalf("Parse succeeded (%d plans), want error %q", len(c.Plans), tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") && !strings.Contains(tt.want, `\n`) {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		mode string
	}{
		{"free plan only", catalogWith(), "live"},
		{"trial bounds", catalogWith(`{"id": "a", "trial_days": 0, "price_ids": {"test": "price_a"}}`, `{"id": "b", "trial_days": 730, "price_ids": {"test": "price_b"}}`), "test"},
		{"legacy plan_ prefix", catalogWith(`{"id": "legacy", "price_ids": {"live": "plan_old"}}`), "live"},
		{"other mode variable unset", catalogWith(`{"id": "standard", "price_ids": {"test": "price_a", "live": "${UNSET}"}}`), "test"},
		{"other mode price absent", catalogWith(`{"id": "standard", "price_ids": {"live": "price_a"}}`), "live"},
		{"free plan with empty price_ids", `{"free_plan": "free", "plans": [{"id": "free", "price_ids": {}}]}`, "test"},
		{"null limits and entitlements", `{"free_plan": "free", "plans": [{"id": "free", "limits": null, "entitlements": null}]}`, "test"},
		{"zero limit", catalogWith(`{"id": "standard", "price_ids": {"test": "price_a"}, "limits": {"exports": 0}}`), "test"},
		{"UTC zone", `{"free_plan": "free", "usage_time_zone": "UTC", "plans": [` + freePlan + `]}`, "test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.doc), tt.mode, env{}.get); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	getenv := env{"A": "price_1", "B": "x", "EMPTY": ""}.get
	tests := []struct {
		in, want, missing string
		wantErr           bool
	}{
		{in: "price_literal", want: "price_literal"},
		{in: "${A}", want: "price_1"},
		{in: "${A}${B}", want: "price_1x"},
		{in: "price_${B}_y", want: "price_x_y"},
		{in: "${UNSET}", missing: "UNSET"},
		{in: "${EMPTY}", missing: "EMPTY"},
		{in: "${A}${UNSET}${EMPTY}", want: "price_1", missing: "UNSET"},
		{in: "", want: ""},
		{in: "${", wantErr: true},
		{in: "${}", wantErr: true},
		{in: "${1A}", wantErr: true},
		{in: "${A-B}", wantErr: true},
		{in: "$A", wantErr: true},
		{in: "price_$", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, missing, err := expand(tt.in, getenv)
			if (err != nil) != tt.wantErr {
				t.Fatalf("expand(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if missing != tt.missing {
				t.Errorf("missing = %q, want %q", missing, tt.missing)
			}
			if missing == "" && got != tt.want {
				t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPascal(t *testing.T) {
	tests := map[string]string{
		"member_access":   "MemberAccess",
		"learning_access": "LearningAccess",
		"race_11r":        "Race11r",
		"race_10r_12r":    "Race10r12r",
		"simulation":      "Simulation",
		"a_b_c":           "ABC",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := pascal(in); got != want {
				t.Errorf("pascal(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
