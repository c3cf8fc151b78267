package config

import (
	"slices"
	"strings"
	"testing"
)

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func base() map[string]string {
	return map[string]string{
		"DATABASE_URL":          "postgres://u@127.0.0.1:5432/db",
		"SUPABASE_JWT_SECRET":   "a-jwt-secret-of-at-least-32-characters",
		"STRIPE_SECRET_KEY":     "sk_test_abc",
		"STRIPE_WEBHOOK_SECRET": "whsec_one, whsec_two",
		"SITE_URL":              "https://app.example/",
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	all := NeedDatabase | NeedAuth | NeedStripe | NeedWebhook | NeedEmail | NeedSite | NeedPlans
	tests := []struct {
		name    string
		env     map[string]string
		needs   Need
		wantVar string
	}{
		{"no database", with(base(), "DATABASE_URL", ""), NeedDatabase, "DATABASE_URL"},
		{"bad database url", with(base(), "DATABASE_URL", "mysql://x"), NeedDatabase, "DATABASE_URL"},
		{"no jwt secret nor url", with(base(), "SUPABASE_JWT_SECRET", ""), NeedAuth, "SUPABASE_JWT_SECRET"},
		{"no stripe key", with(base(), "STRIPE_SECRET_KEY", ""), NeedStripe, "STRIPE_SECRET_KEY"},
		{"live key in test mode", with(base(), "STRIPE_SECRET_KEY", "sk_live_x", "STRIPE_MODE", "test"), NeedStripe, "STRIPE_SECRET_KEY"},
		{"test key in live mode", with(base(), "STRIPE_MODE", "live"), NeedStripe, "STRIPE_SECRET_KEY"},
		{"bad mode", with(base(), "STRIPE_MODE", "prod"), NeedStripe, "STRIPE_MODE"},
		{"webhook alone needs a mode", base(), NeedWebhook, "STRIPE_MODE"},
		{"no webhook secret", with(base(), "STRIPE_WEBHOOK_SECRET", "", "STRIPE_MODE", "test"), NeedWebhook, "STRIPE_WEBHOOK_SECRET"},
		{"webhook secret without prefix", with(base(), "STRIPE_WEBHOOK_SECRET", "abc", "STRIPE_MODE", "test"), NeedWebhook, "STRIPE_WEBHOOK_SECRET"},
		{"no site url", with(base(), "SITE_URL", ""), NeedSite, "SITE_URL"},
		{"site url not a url", with(base(), "SITE_URL", "app.example"), NeedSite, "SITE_URL"},
		{"sendgrid without from", with(base(), "SENDGRID_API_KEY", "SG.x"), NeedEmail, "EMAIL_FROM"},
		{"bad locale", with(base(), "EMAIL_LOCALE", "fr"), NeedEmail, "EMAIL_LOCALE"},
		{"bad supabase url", with(base(), "SUPABASE_URL", "ftp://x"), all, "SUPABASE_URL"},
		{"supabase url over plain http", with(base(), "SUPABASE_URL", "http://abc.supabase.co"), NeedDatabase, "SUPABASE_URL"},
		{"supabase url over plain http, auth only", with(base(), "SUPABASE_URL", "http://10.0.0.5:54321"), NeedAuth, "SUPABASE_URL"},
		{"short jwt secret", with(base(), "SUPABASE_JWT_SECRET", "short-secret"), NeedAuth, "SUPABASE_JWT_SECRET"},
		{"live key in test mode behind a remote api base", with(base(), "STRIPE_SECRET_KEY", "sk_live_x", "STRIPE_MODE", "test", "STRIPE_API_BASE", "https://proxy.example"), NeedStripe, "STRIPE_SECRET_KEY"},
		{"test key in live mode behind a remote api base", with(base(), "STRIPE_MODE", "live", "STRIPE_API_BASE", "https://api.stripe.com"), NeedStripe, "STRIPE_SECRET_KEY"},
		{"bad portal url", with(base(), "STRIPE_BILLING_PORTAL_RETURN_URL", "/account"), NeedStripe, "STRIPE_BILLING_PORTAL_RETURN_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env), tt.needs)
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tt.wantVar) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q should be one line naming %s", err, tt.wantVar)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	all := NeedDatabase | NeedAuth | NeedStripe | NeedWebhook | NeedEmail | NeedSite | NeedPlans
	c, err := Load(env(base()), all)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != "test" {
		t.Errorf("mode %q inferred from the key, want test", c.Mode)
	}
	if !slices.Equal(c.WebhookSecrets, []string{"whsec_one", "whsec_two"}) {
		t.Errorf("secrets %v", c.WebhookSecrets)
	}
	if c.SiteURL != "https://app.example" || !slices.Equal(c.AllowedOrigins, []string{"https://app.example"}) {
		t.Errorf("site %q origins %v", c.SiteURL, c.AllowedOrigins)
	}
	if c.EmailLocale != "en" || c.Port != "8000" {
		t.Errorf("defaults: locale %q port %q", c.EmailLocale, c.Port)
	}

	t.Run("REST path instead of DATABASE_URL", func(t *testing.T) {
		c, err := Load(env(with(base(), "DATABASE_URL", "", "SUPABASE_URL", "https://x.supabase.co/", "SUPABASE_SERVICE_ROLE_KEY", "k")), NeedDatabase)
		if err != nil || c.DatabaseURL != "" || c.SupabaseURL != "https://x.supabase.co" {
			t.Fatalf("%+v %v", c, err)
		}
		if c.Issuer() != "https://x.supabase.co/auth/v1" {
			t.Fatalf("issuer %q", c.Issuer())
		}
	})
	t.Run("mode-specific webhook secret", func(t *testing.T) {
		c, err := Load(env(with(base(), "STRIPE_WEBHOOK_SECRET", "", "STRIPE_MODE", "live", "STRIPE_SECRET_KEY", "sk_live_x",
			"STRIPE_WEBHOOK_SECRET_LIVE", "whsec_live", "STRIPE_WEBHOOK_SECRET_TEST", "whsec_test")), NeedWebhook|NeedStripe)
		if err != nil || !slices.Equal(c.WebhookSecrets, []string{"whsec_live"}) {
			t.Fatalf("%v %v", c, err)
		}
	})
	t.Run("stripe-mock accepts any key", func(t *testing.T) {
		if _, err := Load(env(with(base(), "STRIPE_API_BASE", "http://127.0.0.1:12111", "STRIPE_MODE", "live")), NeedStripe); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("plain http only for loopback stand-ins", func(t *testing.T) {
		for _, u := range []string{"http://127.0.0.1:54321", "http://localhost:54321", "http://[::1]:54321", "https://abc.supabase.co"} {
			if _, err := Load(env(with(base(), "SUPABASE_URL", u)), NeedDatabase|NeedAuth); err != nil {
				t.Errorf("SUPABASE_URL=%s: %v", u, err)
			}
		}
	})
	t.Run("only what is needed is read", func(t *testing.T) {
		c, err := Load(env(base()), NeedDatabase)
		if err != nil || c.StripeSecretKey != "" || c.JWTSecret != "" {
			t.Fatalf("read more than needed: %+v %v", c, err)
		}
	})
}

func TestVarsCoversWhatLoadReads(t *testing.T) {
	all := NeedDatabase | NeedAuth | NeedStripe | NeedWebhook | NeedEmail | NeedSite | NeedPlans
	for _, needs := range []Need{NeedDatabase | NeedAuth | NeedPlans | NeedSite, all, NeedDatabase | NeedWebhook} {
		read := map[string]bool{}
		spy := func(k string) string {
			read[k] = true
			return base()[k]
		}
		_, _ = Load(spy, needs)
		vars := Vars(needs)
		for k := range read {
			if !slices.Contains(vars, k) {
				t.Errorf("needs %b: Load read %s but Vars does not list it", needs, k)
			}
		}
	}
}
