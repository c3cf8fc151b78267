package deploy

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"billing/functions/check-subscription/checksub"
	"billing/shared/config"
	"billing/shared/function"
)

// The checks must fail on a broken template: each case breaks the real
// template.yaml in one way and names the problem the checks must report.

// replaceOnce replaces the first old in s, failing the test if it is absent.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("the template no longer contains %q: update this test", old)
	}
	return strings.Replace(s, old, new, 1)
}

// checkSubscriptionEnv is the start of check-subscription's own variables.
const checkSubscriptionEnv = `        LogGroup: !Ref CheckSubscriptionLogGroup
      Environment:
        Variables:
`

func TestChecksCatchBrokenTemplates(t *testing.T) {
	real := readFile(t, "template.yaml")
	dirs := []string{"cancel-subscription", "change-plan", "check-subscription", "create-checkout-session", "create-portal-session",
		"handle-stripe-webhook", "reconcile-subscriptions", "resume-subscription"}
	specs := map[string]function.Spec{checksub.Name: checksub.Spec}
	envs, err := LoadSAMConfig(root + "/samconfig.toml")
	if err != nil {
		t.Fatal(err)
	}
	run := func(tmpl *Template, which string) []string {
		switch which {
		case "functions":
			return checkFunctions(tmpl, dirs)
		case "routes":
			return checkRoutes(tmpl, dirs)
		case "properties":
			return checkProperties(tmpl, dirs)
		case "api":
			return checkHTTPAPI(tmpl)
		case "operations":
			return checkOperations(tmpl, dirs)
		case "secrets":
			return checkSecrets(tmpl, map[string]string{"template.yaml": ""})
		case "environment":
			e, err := tmpl.Evaluator(envs[0].Parameters, "ap-northeast-1", "billing-test")
			if err != nil {
				return []string{err.Error()}
			}
			return checkEnvironment(tmpl, e, specs)
		}
		t.Fatalf("unknown check %s", which)
		return nil
	}
	tests := []struct {
		name, check, old, new, want string
	}{
		{"GET route removed", "routes", "            Path: /functions/v1/check-subscription\n            Method: GET", "            Path: /functions/v1/check-subscription\n            Method: POST",
			"check-subscription: methods [POST POST]"},
		{"route at another name", "functions", "Path: /functions/v1/handle-stripe-webhook", "Path: /functions/v1/stripe-webhook",
			"route /functions/v1/stripe-webhook"},
		{"route on a wrong path", "routes", "Path: /functions/v1/handle-stripe-webhook", "Path: /webhook",
			"handle-stripe-webhook: event Post path /webhook"},
		{"function without a folder", "functions", "CheckSubscriptionFunction:\n    Type: AWS::Serverless::Function", "CheckSubscriptionFnction:\n    Type: AWS::Serverless::Function",
			"functions/check-subscription has no AWS::Serverless::Function resource CheckSubscriptionFunction"},
		{"more memory", "properties", "    MemorySize: 128\n", "    MemorySize: 256\n", "MemorySize is 256, want 128"},
		{"x86", "properties", "Architectures: [arm64]", "Architectures: [x86_64]", "Architectures is [x86_64], want [arm64]"},
		{"webhook timeout", "properties", "      Timeout: 30\n", "      Timeout: 10\n", "handle-stripe-webhook: Timeout is 10, want 30"},
		{"no makefile build", "properties", "  CheckSubscriptionFunction:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: makefile",
			"  CheckSubscriptionFunction:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: go1.x", "Metadata.BuildMethod is go1.x"},
		{"a CORS header missing", "api", "x-retry-count, traceparent", "traceparent", "CORS AllowHeaders"},
		{"no throttling", "api", "ThrottlingBurstLimit: !Ref ApiBurstLimit", "Foo: 1", "ThrottlingBurstLimit"},
		{"access log with headers", "api", `"routeKey":"$context.routeKey"`, `"routeKey":"$context.routeKey","auth":"$request.header.Authorization"`, "must not log header"},
		{"log group without retention", "operations", "      LogGroupName: !Sub /aws/lambda/${AWS::StackName}/check-subscription\n      RetentionInDays: !Ref LogRetentionDays",
			"      LogGroupName: !Sub /aws/lambda/${AWS::StackName}/check-subscription", "check-subscription: LoggingConfig.LogGroup"},
		{"webhook alarm on another route", "operations", `"POST /functions/v1/handle-stripe-webhook"`, `"POST /functions/v1/check-subscription"`, "no alarm on 5xx"},
		{"reconcile alarm on another function", "operations", "Value: !Ref ReconcileSubscriptionsFunction", "Value: !Ref CheckSubscriptionFunction", "no alarm on the Errors"},
		{"weekly schedule", "operations", "Default: rate(1 day)", "Default: rate(7 days)", "rate(1 day)"},
		{"schedule with an Input", "operations", "            Schedule: !Ref ReconcileSchedule\n", "            Schedule: !Ref ReconcileSchedule\n            Input: '{\"requestContext\":{\"http\":{\"method\":\"POST\"}}}'\n",
			"not an Input"},
		{"secret as a parameter", "secrets", "          STRIPE_SECRET_KEY: !Sub \"{{resolve:secretsmanager:${SecretsName}:SecretString:STRIPE_SECRET_KEY::${SecretsVersionId}}}\"",
			"          STRIPE_SECRET_KEY: !Ref SecretsName", "STRIPE_SECRET_KEY is map[Ref:SecretsName]"},
		{"secret as a literal", "secrets", checkSubscriptionEnv, checkSubscriptionEnv + "          STRIPE_WEBHOOK_SECRET: super-secret-value\n",
			"STRIPE_WEBHOOK_SECRET is super-secret-value"},
		{"secret under another key", "secrets", "SecretString:SUPABASE_JWT_SECRET::", "SecretString:SUPABASE_SERVICE_ROLE_KEY::",
			`reads the secret's key "SUPABASE_SERVICE_ROLE_KEY", want "SUPABASE_JWT_SECRET"`},
		{"a NoEcho parameter", "secrets", "  LogLevel:\n    Type: String\n", "  LogLevel:\n    Type: String\n    NoEcho: true\n", "parameter LogLevel looks like a secret"},
		{"a variable the function does not read", "environment", checkSubscriptionEnv, checkSubscriptionEnv + "          STRIPE_SECRET_KEY: '{{resolve:secretsmanager:x:SecretString:STRIPE_SECRET_KEY}}'\n",
			"check-subscription: STRIPE_SECRET_KEY is set but the function does not read it"},
		{"a price no catalog uses", "environment", checkSubscriptionEnv, checkSubscriptionEnv + "          STRIPE_GOLD_PRICE_ID_TEST: price_123\n",
			"check-subscription: STRIPE_GOLD_PRICE_ID_TEST is set but"},
		{"a stand-in in production", "environment", checkSubscriptionEnv, checkSubscriptionEnv + "          STRIPE_API_BASE: http://localhost:12111\n",
			"check-subscription: STRIPE_API_BASE is set but"},
		{"a missing variable", "environment", "          SITE_URL: !Ref SiteUrl\n          ALLOWED_ORIGINS: !Join [\",\", !Ref AllowedOrigins]\n          BILLING_PLANS_FILE: !If [HasPlansFile, !Ref BillingPlansFile, !Ref AWS::NoValue]\n          STRIPE_STANDARD_PRICE_ID_TEST: !If [IsLive, !Ref AWS::NoValue, !Ref StandardPriceId]\n          STRIPE_STANDARD_PRICE_ID_LIVE: !If [IsLive, !Ref StandardPriceId, !Ref AWS::NoValue]\n          STRIPE_PREMIUM_PRICE_ID_TEST: !If [IsLive, !Ref AWS::NoValue, !Ref PremiumPriceId]\n          STRIPE_PREMIUM_PRICE_ID_LIVE: !If [IsLive, !Ref PremiumPriceId, !Ref AWS::NoValue]\n      Events:\n        Post:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n            Path: /functions/v1/check-subscription",
			"          ALLOWED_ORIGINS: !Join [\",\", !Ref AllowedOrigins]\n          BILLING_PLANS_FILE: !If [HasPlansFile, !Ref BillingPlansFile, !Ref AWS::NoValue]\n          STRIPE_STANDARD_PRICE_ID_TEST: !If [IsLive, !Ref AWS::NoValue, !Ref StandardPriceId]\n          STRIPE_STANDARD_PRICE_ID_LIVE: !If [IsLive, !Ref StandardPriceId, !Ref AWS::NoValue]\n          STRIPE_PREMIUM_PRICE_ID_TEST: !If [IsLive, !Ref AWS::NoValue, !Ref PremiumPriceId]\n          STRIPE_PREMIUM_PRICE_ID_LIVE: !If [IsLive, !Ref PremiumPriceId, !Ref AWS::NoValue]\n      Events:\n        Post:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n            Path: /functions/v1/check-subscription",
			"check-subscription: SITE_URL is read by its configuration but not set"},
		{"the price of the wrong mode", "environment", "STRIPE_PREMIUM_PRICE_ID_TEST: !If [IsLive, !Ref AWS::NoValue, !Ref PremiumPriceId]\n          STRIPE_PREMIUM_PRICE_ID_LIVE: !If [IsLive, !Ref PremiumPriceId, !Ref AWS::NoValue]\n      Events:\n        Post:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n            Path: /functions/v1/check-subscription",
			"STRIPE_PREMIUM_PRICE_ID_TEST: !If [IsLive, !Ref PremiumPriceId, !Ref AWS::NoValue]\n          STRIPE_PREMIUM_PRICE_ID_LIVE: !If [IsLive, !Ref AWS::NoValue, !Ref PremiumPriceId]\n      Events:\n        Post:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n            Path: /functions/v1/check-subscription",
			"check-subscription: STRIPE_PREMIUM_PRICE_ID_TEST is read by its configuration but not set"},
		{"a value the function rejects", "environment", "          STRIPE_MODE: !Ref StripeMode\n          SITE_URL: !Ref SiteUrl", "          STRIPE_MODE: sandbox\n          SITE_URL: !Ref SiteUrl",
			"check-subscription: the function would not start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(loadTemplate(t, real), tt.check); len(got) > 0 {
				t.Fatalf("the real template already fails %s: %v", tt.check, got)
			}
			broken := loadTemplate(t, replaceOnce(t, real, tt.old, tt.new))
			got := run(broken, tt.check)
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Fatalf("check %s reported %q, want a problem containing %q", tt.check, got, tt.want)
			}
		})
	}
}

// TestSecretLiteralsAreFound: the text scan finds secrets pasted into
// samconfig.toml or the template.
func TestSecretLiteralsAreFound(t *testing.T) {
	tmpl := loadTemplate(t, readFile(t, "template.yaml"))
	for _, leak := range []string{
		"sk_live_51Habcdefghijk", "rk_test_51Habcdefgh", "whsec_abcdefghij12",
		"SG.abcdefghij_klm.nopqrstuv", "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.sig",
		"postgres://postgres:hunter2@db.example.supabase.co:5432/postgres",
	} {
		t.Run(leak[:8], func(t *testing.T) {
			got := checkSecrets(tmpl, map[string]string{"samconfig.toml": `parameter_overrides = ["X=` + leak + `"]`})
			if len(got) != 1 || !strings.Contains(got[0], "samconfig.toml contains what looks like a secret") {
				t.Fatalf("got %v", got)
			}
		})
	}
}

// TestFunctionsFollowTheirNeeds: a function whose Needs grow (here
// check-subscription asking for Stripe) is caught until the template
// follows.
func TestFunctionsFollowTheirNeeds(t *testing.T) {
	tmpl := loadTemplate(t, readFile(t, "template.yaml"))
	envs, err := LoadSAMConfig(root + "/samconfig.toml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := tmpl.Evaluator(envs[0].Parameters, envs[0].Region, envs[0].StackName)
	if err != nil {
		t.Fatal(err)
	}
	grown := checksub.Spec
	grown.Needs |= config.NeedStripe | config.NeedEmail
	grown.Build = func(context.Context, *function.Deps) (http.Handler, error) { return nil, nil }
	got := strings.Join(checkEnvironment(tmpl, e, map[string]function.Spec{checksub.Name: grown}), "\n")
	for _, want := range []string{"STRIPE_SECRET_KEY is read by its configuration but not set", "EMAIL_FROM is read", "SENDGRID_API_KEY is read"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
}
