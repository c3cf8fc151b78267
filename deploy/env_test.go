package deploy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"billing/shared/config"
	"billing/shared/function"
	"billing/shared/plans"
)

// Which of the variables config.Vars lists a Lambda function must have:
// all of them, except these.
var (
	// optionalVars are read but need not be set: an alias, the other forms
	// of the webhook secret, settings with a good default, DATABASE_URL
	// (the template uses the REST data path: SUPABASE_URL +
	// SUPABASE_SERVICE_ROLE_KEY; setting DATABASE_URL instead is allowed),
	// and RECONCILE_TOKEN (without it operators invoke reconcile through
	// IAM with `aws lambda invoke`, not over HTTP).
	optionalVars = []string{
		"RECONCILE_TOKEN",
		"PUBLIC_SUPABASE_URL",
		"STRIPE_WEBHOOK_SECRET_TEST", "STRIPE_WEBHOOK_SECRET_LIVE",
		"STRIPE_BILLING_PORTAL_RETURN_URL",
		"EMAIL_FROM_NAME",
		"BILLING_PLANS_FILE",
		"DATABASE_URL",
	}
	// localOnlyVars point a function at local stand-ins (stripe-mock, a
	// SendGrid stand-in, a port): a deployment never sets them.
	localOnlyVars = []string{"PORT", "STRIPE_API_BASE", "SENDGRID_API_BASE"}
	// secretVars may only come from a dynamic reference.
	secretVars = []string{
		"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET_TEST", "STRIPE_WEBHOOK_SECRET_LIVE",
		"SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_JWT_SECRET", "DATABASE_URL", "SENDGRID_API_KEY", "RECONCILE_TOKEN",
	}
)

// priceVarRef finds the ${VAR} price references of a catalog document.
var priceVarRef = regexp.MustCompile(`\$\{(STRIPE_[A-Z0-9_]+_PRICE_ID_(TEST|LIVE))\}`)

// priceVars returns the price variables of the default catalog for mode
// (the ones that must be set) and the others that may be set: the other
// mode's, and those of the example catalogs, which BILLING_PLANS_FILE may
// select (docs/deploy.md).
func priceVars(mode string) (current, other []string) {
	for _, m := range priceVarRef.FindAllStringSubmatch(string(plans.DefaultJSON()), -1) {
		if strings.EqualFold(m[2], mode) {
			current = append(current, m[1])
		} else {
			other = append(other, m[1])
		}
	}
	for _, name := range plans.ExampleNames() {
		doc, err := plans.Example(name)
		if err != nil {
			panic(err)
		}
		for _, m := range priceVarRef.FindAllStringSubmatch(string(doc), -1) {
			if !slices.Contains(current, m[1]) {
				other = append(other, m[1])
			}
		}
	}
	slices.Sort(current)
	slices.Sort(other)
	return slices.Compact(current), slices.Compact(other)
}

// wantVars splits what a function with needs reads in mode into the
// variables it must have and the ones it may have.
func wantVars(needs config.Need, mode string) (must, may []string) {
	for _, v := range config.Vars(needs) {
		switch {
		case slices.Contains(localOnlyVars, v):
		case slices.Contains(optionalVars, v), strings.HasPrefix(v, "SENDGRID_TEMPLATE_"):
			may = append(may, v)
		default:
			must = append(must, v)
		}
	}
	if needs&config.NeedPlans != 0 {
		cur, other := priceVars(mode)
		must = append(must, cur...)
		may = append(may, other...)
	}
	return must, may
}

// dynamicRef matches a Secrets Manager or SSM Parameter Store reference.
var dynamicRef = regexp.MustCompile(`^\{\{resolve:(secretsmanager|ssm):([^:}]+)(?::SecretString:([A-Za-z0-9_]+))?[^{}]*\}\}$`)

// secretLiteral matches what Stripe, SendGrid, Supabase and Postgres
// secrets look like.
var secretLiteral = regexp.MustCompile(`sk_(live|test)_[0-9A-Za-z]{6,}|rk_(live|test)_[0-9A-Za-z]{6,}|whsec_[0-9A-Za-z]{6,}|SG\.[\w-]{8,}\.|eyJ[\w-]{8,}\.[\w-]{8,}|postgres(ql)?://[^:@\s/]+:[^@\s]+@`)

// checkSecrets: every secret variable of every function is a dynamic
// reference (a literal string or an Fn::Sub of one) whose key is the
// variable's own name, never a parameter or a literal; and the template and
// samconfig contain nothing that looks like a secret.
func checkSecrets(t *Template, texts map[string]string) []string {
	var problems []string
	for _, id := range t.ResourcesOfType(functionType) {
		env := t.FunctionEnvironment(id)
		for _, name := range slices.Sorted(maps.Keys(env)) {
			if !slices.Contains(secretVars, name) {
				continue
			}
			ref := ""
			switch v := env[name].(type) {
			case string:
				ref = v
			case map[string]any:
				// Only the one-argument form (no variables bound to values),
				// whose ${Parameter}s name the secret, never hold it.
				ref, _ = v["Fn::Sub"].(string)
				ref = subVar.ReplaceAllString(ref, "$1")
			}
			m := dynamicRef.FindStringSubmatch(ref)
			switch {
			case m == nil:
				problems = append(problems, fmt.Sprintf("%s: %s is %v, not a {{resolve:secretsmanager:...}} or {{resolve:ssm:...}} reference", id, name, env[name]))
			case m[1] == "secretsmanager" && m[3] != name:
				problems = append(problems, fmt.Sprintf("%s: %s reads the secret's key %q, want %q", id, name, m[3], name))
			case m[1] == "ssm" && !strings.HasSuffix(m[2], "/"+name):
				problems = append(problems, fmt.Sprintf("%s: %s reads the SSM parameter %q, want one named .../%s", id, name, m[2], name))
			}
		}
	}
	for name, p := range t.Parameters {
		if slices.ContainsFunc(secretVars, func(s string) bool { return strings.EqualFold(strings.ReplaceAll(s, "_", ""), name) }) || p["NoEcho"] == true {
			problems = append(problems, "parameter "+name+" looks like a secret: secrets come from dynamic references, never parameters")
		}
	}
	for _, file := range slices.Sorted(maps.Keys(texts)) {
		if m := secretLiteral.FindString(texts[file]); m != "" {
			problems = append(problems, fmt.Sprintf("%s contains what looks like a secret: %.12s...", file, m))
		}
	}
	slices.Sort(problems)
	return problems
}

// fakeSecret stands in for a resolved dynamic reference, shaped so that
// config.Load accepts it for mode.
func fakeSecret(name, mode string) string {
	switch name {
	case "STRIPE_SECRET_KEY":
		return "sk_" + mode + "_deploytest"
	case "STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET_TEST", "STRIPE_WEBHOOK_SECRET_LIVE":
		return "whsec_deploytest"
	case "RECONCILE_TOKEN":
		return strings.Repeat("0123456789abcdef", 4)
	case "SUPABASE_JWT_SECRET": // at least config.MinJWTSecretLen characters
		return "supabase-jwt-secret-deploytest-0123456789"
	case "DATABASE_URL":
		return "postgres://postgres.ref:pw@aws-0-ap-northeast-1.pooler.supabase.com:6543/postgres"
	}
	return strings.ToLower(name) + "-deploytest"
}

// checkEnvironment evaluates each function's environment for one
// deployment and compares it with what its configuration reads: every
// must-have variable is set, nothing is set that it does not read, and
// config.Load (and the plan catalog) accept the values, secrets replaced by
// stand-ins, as the function does at start.
func checkEnvironment(t *Template, e *Evaluator, specs map[string]function.Spec) []string {
	var problems []string
	mode, _ := e.Param("StripeMode").(string)
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		spec, id := specs[name], LogicalID(name)
		if _, ok := t.Resources[id]; !ok {
			continue // reported by checkFunctions
		}
		v, _, err := e.Eval(t.FunctionEnvironment(id))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: environment: %v", name, err))
			continue
		}
		env := map[string]string{}
		for k, val := range Map(v) {
			s, ok := intString(val)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: %s is not a string: %v", name, k, val))
			}
			if dynamicRef.MatchString(s) {
				s = fakeSecret(k, mode)
			}
			env[k] = s
		}
		must, may := wantVars(spec.Needs, mode)
		if _, pg := env["DATABASE_URL"]; pg {
			must = slices.DeleteFunc(must, func(s string) bool { return s == "SUPABASE_SERVICE_ROLE_KEY" })
		}
		for _, k := range must {
			if _, ok := env[k]; !ok {
				problems = append(problems, fmt.Sprintf("%s: %s is read by its configuration but not set", name, k))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(env)) {
			if !slices.Contains(must, k) && !slices.Contains(may, k) {
				problems = append(problems, fmt.Sprintf("%s: %s is set but the function does not read it (Needs %b)", name, k, spec.Needs))
			}
		}
		getenv := func(k string) string { return env[k] }
		cfg, err := config.Load(getenv, spec.Needs)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: the function would not start: %v", name, err))
			continue
		}
		if spec.Needs&config.NeedPlans != 0 {
			doc := plans.DefaultJSON() // BILLING_PLANS_FILE, when set, is built into the artifact
			if _, err := plans.Parse(doc, cfg.Mode, getenv); err != nil {
				problems = append(problems, fmt.Sprintf("%s: the plan catalog would not load: %v", name, err))
			}
		}
	}
	slices.Sort(problems)
	return problems
}
