// Package config reads the billing functions' configuration from the
// environment once, at start, and validates it: a missing or inconsistent
// value stops the function with one line naming the variable. Each function
// says which parts it needs, so a function never asks for a secret it does
// not use.
package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Need is a part of the configuration a function requires.
type Need uint

// The parts of the configuration.
const (
	// NeedDatabase: DATABASE_URL, or SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY.
	NeedDatabase Need = 1 << iota
	// NeedAuth: SUPABASE_JWT_SECRET and/or SUPABASE_URL (JWKS), to verify user tokens.
	NeedAuth
	// NeedStripe: STRIPE_SECRET_KEY and STRIPE_MODE.
	NeedStripe
	// NeedWebhook: STRIPE_WEBHOOK_SECRET (or its _TEST/_LIVE form).
	NeedWebhook
	// NeedEmail: SENDGRID_API_KEY (optional: without it emails are logged), EMAIL_FROM.
	NeedEmail
	// NeedSite: SITE_URL and ALLOWED_ORIGINS.
	NeedSite
	// NeedPlans: the plan catalog (BILLING_PLANS_FILE) and its price variables.
	NeedPlans
	// NeedOperator: RECONCILE_TOKEN (optional), the bearer secret operators
	// send to call reconcile-subscriptions over HTTP; unset, only the
	// schedule (a non-HTTP Lambda event) and users' tokens are accepted.
	NeedOperator
)

// Config is the whole configuration. Fields a function did not ask for
// stay empty.
type Config struct {
	Mode            string // "test" or "live"
	StripeSecretKey string
	StripeAPIBase   string // stripe-mock in development and tests
	WebhookSecrets  []string
	PortalReturnURL string

	SupabaseURL    string
	ServiceRoleKey string
	JWTSecret      string
	DatabaseURL    string

	SendGridAPIKey  string
	SendGridAPIBase string
	EmailFrom       string
	EmailFromName   string
	EmailLocale     string            // "en" or "ja"
	EmailTemplates  map[string]string // email kind -> SendGrid dynamic template ID

	SiteURL        string
	AllowedOrigins []string
	PlansFile      string
	ReconcileToken string // RECONCILE_TOKEN: operators' bearer secret for reconcile-subscriptions
	Port           string
	LogLevel       string

	needs Need
}

// Getenv looks a variable up; os.Getenv in production, a map in tests.
type Getenv func(string) string

// EmailKinds are the transactional emails; each may have a SendGrid
// dynamic template in SENDGRID_TEMPLATE_<KIND>.
var EmailKinds = []string{"welcome", "payment_failed", "cancellation_scheduled", "subscription_ended"}

// FromEnv reads the configuration that needs asks for from os.Getenv (and,
// when BILLING_SECRETS_ID is set, from that Secrets Manager secret through
// the Parameters and Secrets Lambda extension; see SecretsIDVar) and
// validates it.
func FromEnv(needs Need) (*Config, error) { return fromEnv(needs) }

// Load reads the configuration that needs asks for from getenv and
// validates it.
func Load(getenv Getenv, needs Need) (*Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := &Config{needs: needs, Port: get("PORT"), LogLevel: get("LOG_LEVEL")}
	if c.Port == "" {
		c.Port = "8000"
	}
	c.SupabaseURL = strings.TrimRight(firstNonEmpty(get("SUPABASE_URL"), get("PUBLIC_SUPABASE_URL")), "/")
	if needs&NeedDatabase != 0 {
		c.DatabaseURL = get("DATABASE_URL")
		c.ServiceRoleKey = get("SUPABASE_SERVICE_ROLE_KEY")
	}
	if needs&NeedAuth != 0 {
		c.JWTSecret = get("SUPABASE_JWT_SECRET")
	}
	if needs&(NeedStripe|NeedWebhook|NeedPlans) != 0 {
		c.Mode = strings.ToLower(get("STRIPE_MODE"))
	}
	if needs&NeedStripe != 0 {
		c.StripeSecretKey = get("STRIPE_SECRET_KEY")
		c.StripeAPIBase = strings.TrimRight(get("STRIPE_API_BASE"), "/")
		c.PortalReturnURL = get("STRIPE_BILLING_PORTAL_RETURN_URL")
	}
	if needs&NeedWebhook != 0 {
		raw := get("STRIPE_WEBHOOK_SECRET")
		if raw == "" && c.Mode != "" {
			raw = get("STRIPE_WEBHOOK_SECRET_" + strings.ToUpper(c.Mode))
		}
		c.WebhookSecrets = splitList(raw)
	}
	if needs&NeedEmail != 0 {
		c.SendGridAPIKey = get("SENDGRID_API_KEY")
		c.SendGridAPIBase = strings.TrimRight(get("SENDGRID_API_BASE"), "/")
		c.EmailFrom = get("EMAIL_FROM")
		c.EmailFromName = get("EMAIL_FROM_NAME")
		c.EmailLocale = strings.ToLower(firstNonEmpty(get("EMAIL_LOCALE"), "en"))
		c.EmailTemplates = map[string]string{}
		for _, k := range EmailKinds {
			if v := get("SENDGRID_TEMPLATE_" + strings.ToUpper(k)); v != "" {
				c.EmailTemplates[k] = v
			}
		}
	}
	if needs&(NeedSite|NeedStripe|NeedEmail) != 0 {
		c.SiteURL = strings.TrimRight(get("SITE_URL"), "/")
		c.AllowedOrigins = splitList(get("ALLOWED_ORIGINS"))
		if len(c.AllowedOrigins) == 0 && c.SiteURL != "" {
			c.AllowedOrigins = []string{c.SiteURL}
		}
	}
	if needs&NeedPlans != 0 {
		c.PlansFile = get("BILLING_PLANS_FILE")
	}
	if needs&NeedOperator != 0 {
		c.ReconcileToken = get("RECONCILE_TOKEN")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks what the function needs; its error names the variable.
func (c *Config) Validate() error {
	n := c.needs
	if n&NeedDatabase != 0 {
		if c.DatabaseURL == "" && (c.SupabaseURL == "" || c.ServiceRoleKey == "") {
			return fmt.Errorf("config: DATABASE_URL is not set (or set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY to use the REST API)")
		}
		if c.DatabaseURL != "" {
			if err := checkURL("DATABASE_URL", c.DatabaseURL, "postgres", "postgresql"); err != nil {
				return err
			}
		}
	}
	if c.SupabaseURL != "" {
		if err := checkURL("SUPABASE_URL", c.SupabaseURL, "http", "https"); err != nil {
			return err
		}
		// The service key and the JWKS travel to SUPABASE_URL: never in
		// clear, except to a stand-in on this machine.
		if err := requireTLS("SUPABASE_URL", c.SupabaseURL); err != nil {
			return err
		}
	}
	if n&NeedAuth != 0 && c.JWTSecret == "" && c.SupabaseURL == "" {
		return fmt.Errorf("config: SUPABASE_JWT_SECRET is not set (or set SUPABASE_URL to verify tokens with the project's JWKS)")
	}
	if n&NeedAuth != 0 && c.JWTSecret != "" && len(c.JWTSecret) < MinJWTSecretLen {
		return fmt.Errorf("config: SUPABASE_JWT_SECRET must be at least %d characters (Supabase's is; a short one can be guessed)", MinJWTSecretLen)
	}
	if n&NeedStripe != 0 && c.StripeSecretKey == "" {
		return fmt.Errorf("config: STRIPE_SECRET_KEY is not set")
	}
	if n&(NeedStripe|NeedWebhook|NeedPlans) != 0 {
		if c.Mode == "" {
			c.Mode = modeOfKey(c.StripeSecretKey)
		}
		if c.Mode != "test" && c.Mode != "live" {
			return fmt.Errorf("config: STRIPE_MODE must be \"test\" or \"live\" (got %q)", c.Mode)
		}
	}
	if n&NeedStripe != 0 {
		// A stand-in on this machine (stripe-mock) takes any key; a real
		// Stripe API base does not excuse a key of the other mode.
		if km := modeOfKey(c.StripeSecretKey); km != "" && km != c.Mode && !(c.StripeAPIBase != "" && IsLoopbackURL(c.StripeAPIBase)) {
			return fmt.Errorf("config: STRIPE_SECRET_KEY is a %s key but STRIPE_MODE is %q", km, c.Mode)
		}
		if c.StripeAPIBase != "" {
			if err := checkURL("STRIPE_API_BASE", c.StripeAPIBase, "http", "https"); err != nil {
				return err
			}
		}
		if c.PortalReturnURL != "" {
			if err := checkURL("STRIPE_BILLING_PORTAL_RETURN_URL", c.PortalReturnURL, "http", "https"); err != nil {
				return err
			}
		}
	}
	if n&NeedWebhook != 0 {
		if len(c.WebhookSecrets) == 0 {
			return fmt.Errorf("config: STRIPE_WEBHOOK_SECRET is not set (or STRIPE_WEBHOOK_SECRET_%s)", strings.ToUpper(c.Mode))
		}
		for _, s := range c.WebhookSecrets {
			if !strings.HasPrefix(s, "whsec_") {
				return fmt.Errorf("config: STRIPE_WEBHOOK_SECRET must hold whsec_... secrets (comma separated)")
			}
		}
	}
	if n&(NeedSite|NeedStripe) != 0 {
		if c.SiteURL == "" {
			return fmt.Errorf("config: SITE_URL is not set")
		}
		if err := checkURL("SITE_URL", c.SiteURL, "http", "https"); err != nil {
			return err
		}
	}
	if n&NeedEmail != 0 {
		if c.EmailLocale != "en" && c.EmailLocale != "ja" {
			return fmt.Errorf("config: EMAIL_LOCALE must be \"en\" or \"ja\" (got %q)", c.EmailLocale)
		}
		if c.SendGridAPIKey != "" && c.EmailFrom == "" {
			return fmt.Errorf("config: EMAIL_FROM is not set (needed with SENDGRID_API_KEY)")
		}
		if c.SendGridAPIBase != "" {
			if err := checkURL("SENDGRID_API_BASE", c.SendGridAPIBase, "http", "https"); err != nil {
				return err
			}
		}
	}
	if n&NeedOperator != 0 && c.ReconcileToken != "" && len(c.ReconcileToken) < MinReconcileTokenLen {
		return fmt.Errorf("config: RECONCILE_TOKEN must be at least %d characters (e.g. openssl rand -hex 32)", MinReconcileTokenLen)
	}
	return nil
}

// MinJWTSecretLen is the shortest SUPABASE_JWT_SECRET accepted: Supabase's
// legacy secrets are 32 characters or more.
const MinJWTSecretLen = 32

// MinReconcileTokenLen is the shortest RECONCILE_TOKEN accepted.
const MinReconcileTokenLen = 32

// Needs reports what the configuration was loaded for.
func (c *Config) Needs() Need { return c.needs }

// Issuer is the iss claim of the project's user tokens, or "" when
// SUPABASE_URL is not known.
func (c *Config) Issuer() string {
	if c.SupabaseURL == "" {
		return ""
	}
	return c.SupabaseURL + "/auth/v1"
}

// Vars lists the environment variables Load reads for needs (without the
// price variables of the plan catalog). The SAM template test uses it.
func Vars(needs Need) []string {
	v := []string{"PORT", "LOG_LEVEL", "SUPABASE_URL", "PUBLIC_SUPABASE_URL"}
	add := func(n Need, names ...string) {
		if needs&n != 0 {
			v = append(v, names...)
		}
	}
	add(NeedDatabase, "DATABASE_URL", "SUPABASE_SERVICE_ROLE_KEY")
	add(NeedAuth, "SUPABASE_JWT_SECRET")
	add(NeedStripe|NeedWebhook|NeedPlans, "STRIPE_MODE")
	add(NeedStripe, "STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_BILLING_PORTAL_RETURN_URL")
	add(NeedWebhook, "STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET_TEST", "STRIPE_WEBHOOK_SECRET_LIVE")
	add(NeedEmail, "SENDGRID_API_KEY", "SENDGRID_API_BASE", "EMAIL_FROM", "EMAIL_FROM_NAME", "EMAIL_LOCALE")
	if needs&NeedEmail != 0 {
		for _, k := range EmailKinds {
			v = append(v, "SENDGRID_TEMPLATE_"+strings.ToUpper(k))
		}
	}
	add(NeedSite|NeedStripe|NeedEmail, "SITE_URL", "ALLOWED_ORIGINS")
	add(NeedPlans, "BILLING_PLANS_FILE")
	add(NeedOperator, "RECONCILE_TOKEN")
	slices.Sort(v)
	return slices.Compact(v)
}

func modeOfKey(key string) string {
	switch {
	case strings.HasPrefix(key, "sk_test_"), strings.HasPrefix(key, "rk_test_"):
		return "test"
	case strings.HasPrefix(key, "sk_live_"), strings.HasPrefix(key, "rk_live_"):
		return "live"
	}
	return ""
}

func checkURL(name, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		return fmt.Errorf("config: %s must be a %s URL", name, strings.Join(schemes, " or "))
	}
	return nil
}

// requireTLS refuses a plain http:// URL unless it names a loopback host.
func requireTLS(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("config: %s must be an https URL", name)
	}
	if u.Scheme == "http" && !IsLoopbackURL(raw) {
		return fmt.Errorf("config: %s must be https:// (plain http:// is accepted only for localhost or 127.0.0.1 stand-ins), got host %q", name, u.Hostname())
	}
	return nil
}

// IsLoopbackURL reports whether raw is a URL whose host is localhost or a
// loopback IP address: a stand-in on this machine.
func IsLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
