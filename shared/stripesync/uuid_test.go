package stripesync

import (
	"regexp"
	"strings"
	"testing"
)

// TestIsUUID holds isUUID to the rule it replaced, the regular expression
// ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$,
// over a valid UUID with every byte replaced in turn by bytes of every
// kind, and over strings of the wrong length.
func TestIsUUID(t *testing.T) {
	rule := regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	check := func(s string) {
		t.Helper()
		if got, want := isUUID(s), rule.MatchString(s); got != want {
			t.Errorf("isUUID(%q) = %v, want %v", s, got, want)
		}
	}
	valid := "0f1E2d3C-4b5A-6978-a9B8-c7D6e5F40312"
	check(valid)
	for i := range len(valid) {
		for c := 0; c < 256; c++ {
			check(valid[:i] + string(rune(c))[:1] + valid[i+1:])
			check(valid[:i] + string([]byte{byte(c)}) + valid[i+1:])
		}
	}
	for _, s := range []string{"", valid[:35], valid + "0", " " + valid, valid + "\n",
		strings.Repeat("-", 36), strings.ReplaceAll(valid, "-", "")} {
		check(s)
	}
	if got := UserIDOf("  " + valid + " "); got != strings.ToLower(valid) {
		t.Errorf("UserIDOf(padded) = %q, want %q", got, strings.ToLower(valid))
	}
}
