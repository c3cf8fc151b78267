package config

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// extension is a stand-in for AWS's Parameters and Secrets Lambda
// extension: it checks the request exactly as the real one does (the
// session token header, the secretId query) and answers GetSecretValue.
func extension(t *testing.T, secretID, token string, secret map[string]string, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/secretsmanager/get" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if r.Header.Get("X-Aws-Parameters-Secrets-Token") != token || r.URL.Query().Get("secretId") != secretID {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if status != http.StatusOK {
			http.Error(w, "secret not found", status)
			return
		}
		s, _ := json.Marshal(secret)
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": "arn:aws:secretsmanager:x", "Name": secretID, "SecretString": string(s)})
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Port()
}

func TestSecretsFromTheExtension(t *testing.T) {
	secret := map[string]string{
		"SUPABASE_JWT_SECRET":   "a-jwt-secret-from-secrets-manager-0123456789",
		"STRIPE_SECRET_KEY":     "sk_test_fromSecretsManager",
		"STRIPE_WEBHOOK_SECRET": "whsec_fromSecretsManager",
	}
	port := extension(t, "billing/prod", "session-token", secret, http.StatusOK)
	env := map[string]string{
		"BILLING_SECRETS_ID": "billing/prod", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": port,
		"AWS_SESSION_TOKEN": "session-token",
		"DATABASE_URL":      "postgres://u@127.0.0.1:5432/db", "SITE_URL": "https://app.example",
		"STRIPE_WEBHOOK_SECRET": "whsec_fromTheEnvironment", // the environment wins
	}
	start := time.Now()
	getenv, err := withSecrets(context.Background(), func(k string) string { return env[k] }, secretsClient)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("secret read through the extension stand-in in %v", took)
	c, err := Load(getenv, NeedAuth|NeedStripe|NeedWebhook|NeedDatabase)
	if err != nil {
		t.Fatal(err)
	}
	if c.JWTSecret != secret["SUPABASE_JWT_SECRET"] || c.StripeSecretKey != secret["STRIPE_SECRET_KEY"] {
		t.Fatalf("secrets not read from Secrets Manager: %q %q", c.JWTSecret, c.StripeSecretKey)
	}
	if len(c.WebhookSecrets) != 1 || c.WebhookSecrets[0] != "whsec_fromTheEnvironment" {
		t.Fatalf("webhook secrets %v: the environment must win", c.WebhookSecrets)
	}
}

func TestSecretsErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"wrong session token", "other-token", http.StatusOK},
		{"secret not found", "session-token", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := extension(t, "billing/prod", "session-token", map[string]string{"K": "v"}, tt.status)
			env := map[string]string{"BILLING_SECRETS_ID": "billing/prod", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": port, "AWS_SESSION_TOKEN": tt.token}
			_, err := withSecrets(context.Background(), func(k string) string { return env[k] }, secretsClient)
			if err == nil || !strings.Contains(err.Error(), "BILLING_SECRETS_ID") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line naming BILLING_SECRETS_ID", err)
			}
		})
	}
	t.Run("no extension", func(t *testing.T) {
		env := map[string]string{"BILLING_SECRETS_ID": "billing/prod", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "1"}
		_, err := withSecrets(context.Background(), func(k string) string { return env[k] }, secretsClient)
		if err == nil || !strings.Contains(err.Error(), "layer") {
			t.Fatalf("error %v, want a hint about the layer", err)
		}
	})
	t.Run("unset: nothing fetched", func(t *testing.T) {
		if _, err := withSecrets(context.Background(), func(string) string { return "" }, secretsClient); err != nil {
			t.Fatal(err)
		}
	})
}
