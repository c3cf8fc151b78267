package deploy

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"billing/internal/registry"
	"billing/shared/function"
)

// root is the repository, one level up from this package.
const root = ".."

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loadTemplate(t *testing.T, text string) *Template {
	t.Helper()
	tmpl, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// folders lists functions/*: the deployable functions.
func folders(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no folder under functions/")
	}
	return names
}

// specs returns registry.All() by name, checking that it lists exactly the
// folders under functions/.
func specs(t *testing.T, dirs []string) map[string]function.Spec {
	t.Helper()
	m := map[string]function.Spec{}
	for _, s := range registry.All() {
		if _, dup := m[s.Name]; dup {
			t.Errorf("registry.All() lists %s twice", s.Name)
		}
		m[s.Name] = s
	}
	for _, d := range dirs {
		if _, ok := m[d]; !ok {
			t.Errorf("functions/%s is not in registry.All(): its environment cannot be checked", d)
		}
	}
	for name := range m {
		if !slices.Contains(dirs, name) {
			t.Errorf("registry.All() lists %s, which has no folder under functions/", name)
		}
	}
	return m
}

func reportAll(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

// TestTemplate checks template.yaml against the code and samconfig.toml.
func TestTemplate(t *testing.T) {
	text := readFile(t, "template.yaml")
	tmpl := loadTemplate(t, text)
	dirs := folders(t)
	envs, err := LoadSAMConfig(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("one resource and one route per folder", func(t *testing.T) {
		reportAll(t, checkFunctions(tmpl, dirs))
	})
	t.Run("routes", func(t *testing.T) { reportAll(t, checkRoutes(tmpl, dirs)) })
	t.Run("function properties", func(t *testing.T) { reportAll(t, checkProperties(tmpl, dirs)) })
	t.Run("HTTP API", func(t *testing.T) { reportAll(t, checkHTTPAPI(tmpl)) })
	t.Run("logs, alarms, schedule", func(t *testing.T) { reportAll(t, checkOperations(tmpl, dirs)) })
	t.Run("secrets", func(t *testing.T) {
		reportAll(t, checkSecrets(tmpl, map[string]string{"template.yaml": text, "samconfig.toml": readFile(t, "samconfig.toml")}))
	})
	t.Run("Makefile build targets", func(t *testing.T) { reportAll(t, checkMakefile(tmpl, dirs, root)) })

	all := specs(t, dirs)
	names := []string{}
	for _, e := range envs {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, []string{"dev", "prod", "staging"}) {
		t.Errorf("samconfig.toml environments %v, want dev, staging and prod", names)
	}
	for _, env := range envs {
		t.Run("environment "+env.Name, func(t *testing.T) {
			if env.StackName == "" || env.Region == "" {
				t.Errorf("stack_name %q, region %q: both must be set", env.StackName, env.Region)
			}
			e, err := tmpl.Evaluator(env.Parameters, env.Region, env.StackName)
			if err != nil {
				t.Fatal(err)
			}
			if env.Name == "prod" && e.Param("StripeMode") != "live" {
				t.Errorf("prod uses StripeMode %v, want live", e.Param("StripeMode"))
			}
			reportAll(t, checkEnvironment(tmpl, e, all))
			reportAll(t, checkOutputs(tmpl, e))
		})
	}
	// Both modes, whatever samconfig picks.
	for _, mode := range []string{"test", "live"} {
		t.Run("mode "+mode, func(t *testing.T) {
			params := maps.Clone(envs[0].Parameters)
			params["StripeMode"] = mode
			e, err := tmpl.Evaluator(params, "ap-northeast-1", "billing-check")
			if err != nil {
				t.Fatal(err)
			}
			reportAll(t, checkEnvironment(tmpl, e, all))
		})
	}
}

// TestTemplateListsEveryFunction: the template declares all eight
// functions of the design, whether or not their folders exist yet.
func TestTemplateListsEveryFunction(t *testing.T) {
	tmpl := loadTemplate(t, readFile(t, "template.yaml"))
	want := []string{"cancel-subscription", "change-plan", "check-subscription", "create-checkout-session", "create-portal-session",
		"handle-stripe-webhook", "reconcile-subscriptions", "resume-subscription"}
	var got []string
	for _, id := range tmpl.ResourcesOfType(functionType) {
		got = append(got, nameOf(tmpl, id))
		if LogicalID(nameOf(tmpl, id)) != id {
			t.Errorf("resource %s is routed at %s", id, nameOf(tmpl, id))
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("template functions %v, want %v", got, want)
	}
	if problems := checkFunctions(tmpl, want); len(problems) > 0 {
		t.Fatalf("with all eight folders: %s", strings.Join(problems, "; "))
	}
}
