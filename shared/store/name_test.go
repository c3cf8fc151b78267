package store

import (
	"regexp"
	"strings"
	"testing"
)

// TestSQLName holds sqlName to the rule it replaced, the regular
// expression ^[a-z_][a-z0-9_]{0,62}$, over every short string of a small
// alphabet and the edge cases of length and bytes.
func TestSQLName(t *testing.T) {
	rule := regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	check := func(s string) {
		t.Helper()
		if got, want := sqlName(s), rule.MatchString(s); got != want {
			t.Errorf("sqlName(%q) = %v, want %v", s, got, want)
		}
	}
	alphabet := []string{"a", "z", "_", "0", "9", "A", "-", " ", "é", "\x00", "\n"}
	var walk func(prefix string, depth int)
	walk = func(prefix string, depth int) {
		check(prefix)
		if depth == 0 {
			return
		}
		for _, c := range alphabet {
			walk(prefix+c, depth-1)
		}
	}
	walk("", 3)
	for _, s := range []string{
		strings.Repeat("a", 62), strings.Repeat("a", 63), strings.Repeat("a", 64),
		"_" + strings.Repeat("9", 62), "billing_check_state", "p_user_id", "billing_check_state\n",
		"select;drop", "x'y", "fn()", "0abc",
	} {
		check(s)
	}
}

func TestCheckCallNames(t *testing.T) {
	tests := []struct {
		fn   string
		args []Arg
		ok   bool
	}{
		{"billing_check_state", []Arg{{Name: "p_user_id"}}, true},
		{"billing_check_state; drop table x", nil, false},
		{"billing_check_state", []Arg{{Name: "p_user_id => 1, p"}}, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			if err := checkCall(tt.fn, tt.args); (err == nil) != tt.ok {
				t.Errorf("checkCall(%q, %v) = %v, want ok %v", tt.fn, tt.args, err, tt.ok)
			}
		})
	}
}
