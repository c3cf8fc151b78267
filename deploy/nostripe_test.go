package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stripeModule is stripe-go's module path; check-subscription must not link it.
const stripeModule = "github.com/stripe/stripe-go/v76"

// buildLambda builds a bootstrap the way `sam build` does, through the
// Makefile's build-<LogicalID> target, into a temporary ARTIFACTS_DIR.
func buildLambda(t *testing.T, target string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("make", "-s", target, "ARTIFACTS_DIR="+dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", target, err, out)
	}
	return filepath.Join(dir, "bootstrap")
}

// buildProbe builds testdata/stripeprobe with the same flags as the Makefile.
func buildProbe(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, "./testdata/stripeprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build stripeprobe: %v\n%s", err, b)
	}
	return out
}

// TestCheckSubscriptionLinksNoStripe builds check-subscription's real
// Lambda bootstrap (linux/arm64, stripped) and reads its build information
// and Go symbol table: no stripe-go. A probe that does link stripe-go shows
// the same reading finds it.
func TestCheckSubscriptionLinksNoStripe(t *testing.T) {
	tests := []struct {
		name      string
		build     func(*testing.T) string
		wantLinks bool
	}{
		{"check-subscription", func(t *testing.T) string { return buildLambda(t, "build-"+LogicalID(checkName)) }, false},
		{"stripeprobe (control)", buildProbe, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := tt.build(t)
			l, err := Inspect(bin)
			if err != nil {
				t.Fatal(err)
			}
			if l.GOOS != "linux" || l.GOARCH != "arm64" {
				t.Fatalf("built for %s/%s, want linux/arm64", l.GOOS, l.GOARCH)
			}
			if len(l.Funcs) < 1000 || len(l.Modules) == 0 {
				t.Fatalf("%d functions and modules %v: the symbol table was not read", len(l.Funcs), l.Modules)
			}
			links, evidence, err := l.LinksModule(stripeModule)
			if err != nil {
				t.Fatal(err)
			}
			if links != tt.wantLinks {
				t.Fatalf("links stripe-go = %v, want %v (modules %s; e.g. %s)", links, tt.wantLinks,
					strings.Join(l.Modules, ", "), strings.Join(evidence, ", "))
			}
			if !tt.wantLinks && !slices.Contains(l.Modules, "github.com/aws/aws-lambda-go") {
				t.Fatalf("modules %v lack aws-lambda-go: not a Lambda bootstrap", l.Modules)
			}
		})
	}
}
