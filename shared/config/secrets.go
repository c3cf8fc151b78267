package config

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Secrets at cold start from AWS Secrets Manager, through AWS's Parameters
// and Secrets Lambda extension (a layer that serves the secret on
// localhost, so no AWS SDK is linked). Set SecretsIDVar to the secret's
// name or ARN; the secret is a JSON object whose keys are variable names
// (STRIPE_SECRET_KEY, SUPABASE_JWT_SECRET, ...). A variable set in the
// environment wins over the secret's value. See docs/deploy.md.
const (
	// SecretsIDVar names the secret to read; unset, nothing is fetched.
	SecretsIDVar = "BILLING_SECRETS_ID"
	// secretsPortVar is the extension's port variable (AWS's name).
	secretsPortVar = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
	// secretsDefaultPort is the extension's default port.
	secretsDefaultPort = "2773"
	// secretsTimeout bounds the whole fetch, retries included.
	secretsTimeout = 3 * time.Second
	// maxSecretSize bounds the extension's answer (Secrets Manager allows 64 KiB).
	maxSecretSize = 256 << 10
)

// withSecrets returns getenv, extended with the values of the secret
// SecretsIDVar names when it is set.
func withSecrets(ctx context.Context, getenv Getenv, client *http.Client) (Getenv, error) {
	id := strings.TrimSpace(getenv(SecretsIDVar))
	if id == "" {
		return getenv, nil
	}
	port := strings.TrimSpace(getenv(secretsPortVar))
	if port == "" {
		port = secretsDefaultPort
	}
	values, err := fetchSecret(ctx, client, "http://localhost:"+port, id, getenv("AWS_SESSION_TOKEN"))
	if err != nil {
		return nil, fmt.Errorf("config: %s=%q: %w", SecretsIDVar, id, err)
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return values[k]
	}, nil
}

// fetchSecret reads secret id from the extension at base. The extension
// starts with the function, so a refused connection is retried briefly.
func fetchSecret(ctx context.Context, client *http.Client, base, id, token string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, secretsTimeout)
	defer cancel()
	u := base + "/secretsmanager/get?secretId=" + url.QueryEscape(id)
	var lastErr error
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-Aws-Parameters-Secrets-Token", token)
		resp, err := client.Do(req)
		if err == nil {
			return decodeSecret(resp)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the Parameters and Secrets extension did not answer (is its layer attached?): %w", lastErr)
		case <-time.After(time.Duration(20*(attempt+1)) * time.Millisecond):
		}
	}
}

// decodeSecret reads the extension's GetSecretValue answer: its
// SecretString must be a JSON object of string values.
func decodeSecret(resp *http.Response) (map[string]string, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSecretSize+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		// The body may name the secret, never its value; keep it short.
		return nil, fmt.Errorf("the Parameters and Secrets extension answered %d", resp.StatusCode)
	}
	if len(body) > maxSecretSize {
		return nil, fmt.Errorf("the secret is larger than %d bytes", maxSecretSize)
	}
	var out struct {
		SecretString *string `json:"SecretString"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.SecretString == nil {
		return nil, fmt.Errorf("the extension's answer has no SecretString")
	}
	var values map[string]string
	if err := json.Unmarshal([]byte(*out.SecretString), &values); err != nil {
		return nil, fmt.Errorf("the secret must be a JSON object of string values (keys are variable names)")
	}
	return values, nil
}

// secretsClient is the client of the extension: local, so short timeouts
// and no proxy.
var secretsClient = &http.Client{Timeout: secretsTimeout, Transport: &http.Transport{Proxy: nil}}

func fromEnv(needs Need) (*Config, error) {
	getenv, err := withSecrets(context.Background(), os.Getenv, secretsClient)
	if err != nil {
		return nil, err
	}
	return Load(getenv, needs)
}
