package attacks

import (
	"strings"
	"testing"
)

// TestNoSecretInLogsOrAnswers runs last in the package (Go runs a
// package's tests in file order): it scans every log line the functions
// above wrote and every answer they sent for the project's secrets (JWT
// secret, service key, Stripe keys, webhook secret), for the email
// addresses the tests used, for the tokens they sent, and for webhook
// bodies.
func TestNoSecretInLogsOrAnswers(t *testing.T) {
	seen.mu.Lock()
	defer seen.mu.Unlock()
	if len(seen.envs) < 5 || len(seen.bodies) < 100 {
		t.Fatalf("only %d functions and %d answers to scan: run the whole package", len(seen.envs), len(seen.bodies))
	}
	forbidden := append([]string{"victim@example.com", `"object":"event"`}, secrets...)
	forbidden = append(forbidden, seen.tokens...)
	lines := 0
	for _, e := range seen.envs {
		for _, line := range strings.Split(e.Logs(), "\n") {
			if line == "" {
				continue
			}
			lines++
			for _, s := range forbidden {
				if strings.Contains(line, s) {
					t.Errorf("log line of %s contains %q: %s", e.URL, s, line)
				}
			}
		}
	}
	for _, b := range seen.bodies {
		for _, s := range forbidden {
			if strings.Contains(b, s) {
				t.Errorf("answer contains %q: %s", s, b)
			}
		}
	}
	t.Logf("scanned %d log lines and %d answers", lines, len(seen.bodies))
}
