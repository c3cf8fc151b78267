package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `
Parameters:
  Mode: {Type: String, AllowedValues: [test, live]}
  Name: {Type: String, Default: billing, AllowedPattern: "^[a-z]+$"}
  Origins: {Type: CommaDelimitedList, Default: "https://a.example,https://b.example"}
  Count: {Type: Number, Default: 30}
Conditions:
  IsLive: !Equals [!Ref Mode, live]
  IsTest: !Not [!Condition IsLive]
  Both: !And [!Condition IsLive, !Condition IsTest]
  Either: !Or [!Condition IsLive, !Condition IsTest]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: !Ref Count
Outputs:
  Url:
    Value: !Sub https://${Api}.execute-api.${AWS::Region}.amazonaws.com/${Name}
`

func TestParseShortTags(t *testing.T) {
	tmpl, err := Parse([]byte(sample + `
  Arn:
    Value: !GetAtt Logs.Arn
  Long:
    Value: {"Fn::Join": ["-", [a, !Ref Name]]}
  SubList:
    Value: !Sub ["${X}-${!Literal}", {X: !Ref Name}]
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ output, want string }{
		{"Url", "map[Fn::Sub:https://${Api}.execute-api.${AWS::Region}.amazonaws.com/${Name}]"},
		{"Arn", "map[Fn::GetAtt:[Logs Arn]]"},
		{"Long", "map[Fn::Join:[- [a map[Ref:Name]]]]"},
		{"SubList", "map[Fn::Sub:[${X}-${!Literal} map[X:map[Ref:Name]]]]"},
	}
	for _, tt := range tests {
		t.Run(tt.output, func(t *testing.T) {
			if got := fmt.Sprint(tmpl.Outputs[tt.output]["Value"]); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
	if got := fmt.Sprint(tmpl.Conditions["IsTest"]); got != "map[Fn::Not:[map[Condition:IsLive]]]" {
		t.Fatalf("IsTest = %s", got)
	}
}

func TestParseRejects(t *testing.T) {
	tests := map[string]string{
		"duplicate key":     "Resources:\n  A: {Type: X}\n  A: {Type: Y}\n",
		"GetAtt without .":  "Resources:\n  A:\n    Type: X\n    Properties: {B: !GetAtt Logs}\n",
		"resource w/o Type": "Resources:\n  A: {Properties: {}}\n",
		"not a mapping":     "- a\n- b\n",
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(doc)); err == nil {
				t.Fatal("parsed")
			}
		})
	}
}

func TestEvaluator(t *testing.T) {
	tmpl, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	e, err := tmpl.Evaluator(map[string]string{"Mode": "live"}, "ap-northeast-1", "stack")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   any
		want string
		gone bool
	}{
		{"Sub with resource and pseudo parameter", tmpl.Outputs["Url"]["Value"], "https://Api.execute-api.ap-northeast-1.amazonaws.com/billing", false},
		{"If true", map[string]any{"Fn::If": []any{"IsLive", "yes", "no"}}, "yes", false},
		{"If to NoValue", map[string]any{"Fn::If": []any{"IsTest", "x", map[string]any{"Ref": "AWS::NoValue"}}}, "<nil>", true},
		{"NoValue dropped from a map", map[string]any{"A": map[string]any{"Ref": "AWS::NoValue"}, "B": "b"}, "map[B:b]", false},
		{"Join of a list parameter", map[string]any{"Fn::Join": []any{",", map[string]any{"Ref": "Origins"}}}, "https://a.example,https://b.example", false},
		{"Number parameter", map[string]any{"Ref": "Count"}, "30", false},
		{"GetAtt", map[string]any{"Fn::GetAtt": []any{"Logs", "Arn"}}, "Logs.Arn", false},
		{"Sub escape and variables", map[string]any{"Fn::Sub": []any{"${X}/${!Keep}", map[string]any{"X": map[string]any{"Ref": "Name"}}}}, "billing/${Keep}", false},
		{"dynamic reference kept", map[string]any{"Fn::Sub": "{{resolve:secretsmanager:${Name}:SecretString:K::}}"}, "{{resolve:secretsmanager:billing:SecretString:K::}}", false},
		{"And", map[string]any{"Condition": "Both"}, "false", false},
		{"Or", map[string]any{"Condition": "Either"}, "true", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, present, err := e.Eval(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != tt.want || present == tt.gone {
				t.Fatalf("got %v (present %v), want %s (present %v)", got, present, tt.want, !tt.gone)
			}
		})
	}
	for _, bad := range []any{
		map[string]any{"Ref": "Nope"},
		map[string]any{"Fn::Sub": "${Nope}"},
		map[string]any{"Fn::If": []any{"NoSuchCondition", 1, 2}},
		map[string]any{"Fn::GetAtt": []any{"Nope", "Arn"}},
		map[string]any{"Fn::FindInMap": []any{"M", "a", "b"}},
	} {
		if _, _, err := e.Eval(bad); err == nil {
			t.Errorf("Eval(%v) gave no error", bad)
		}
	}
}

func TestEvaluatorChecksParameters(t *testing.T) {
	tmpl, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"required missing", map[string]string{}, "Mode is required"},
		{"not allowed", map[string]string{"Mode": "sandbox"}, `"sandbox" is not one of`},
		{"pattern", map[string]string{"Mode": "test", "Name": "Billing"}, "does not match"},
		{"undeclared", map[string]string{"Mode": "test", "Extra": "1"}, "Extra is not declared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tmpl.Evaluator(tt.params, "r", "s")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadSAMConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samconfig.toml")
	doc := `version = 0.1
[default.global.parameters]
region = "eu-west-1"
[default.build.parameters]
cached = true
[a.deploy.parameters]
stack_name = "s-a"
parameter_overrides = ["K=v=1", "L=\"quoted\""]
[b.deploy.parameters]
stack_name = "s-b"
region = "us-east-1"
parameter_overrides = "K=x L=y"
`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	envs, err := LoadSAMConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(envs)
	want := "[{a s-a eu-west-1 map[K:v=1 L:quoted]} {b s-b us-east-1 map[K:x L:y]}]"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if err := os.WriteFile(path, []byte("[a.deploy.parameters]\nparameter_overrides = [\"K\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSAMConfig(path); err == nil {
		t.Fatal("an override without = was accepted")
	}
}

func TestLogicalID(t *testing.T) {
	for name, want := range map[string]string{
		"check-subscription":      "CheckSubscriptionFunction",
		"handle-stripe-webhook":   "HandleStripeWebhookFunction",
		"reconcile-subscriptions": "ReconcileSubscriptionsFunction",
	} {
		if got := LogicalID(name); got != want {
			t.Errorf("LogicalID(%s) = %s, want %s", name, got, want)
		}
	}
}
