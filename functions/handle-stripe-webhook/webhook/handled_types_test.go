package webhook_test

import (
	"os"
	"strings"
	"testing"

	"billing/functions/handle-stripe-webhook/webhook"
)

// TestDocsListEveryHandledType: the endpoint's events an operator enables
// are webhook.HandledTypes; each place the docs list them for the
// Dashboard or the API must name every one (an event left out is never
// sent, and its effect silently never happens).
func TestDocsListEveryHandledType(t *testing.T) {
	tests := []struct {
		file, marker, format string
	}{
		{"../../../docs/webhook.md", "Events to send", "`%s`"},
		{"../../../docs/deploy.md", "enabled_events[]", `"enabled_events[]=%s"`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			doc := string(data)
			if !strings.Contains(doc, tt.marker) {
				t.Fatalf("%s no longer has %q", tt.file, tt.marker)
			}
			for _, typ := range webhook.HandledTypes {
				if !strings.Contains(doc, strings.Replace(tt.format, "%s", typ, 1)) {
					t.Errorf("%s does not list %s", tt.file, typ)
				}
			}
		})
	}
}
