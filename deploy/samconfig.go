package deploy

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Environment is one `sam deploy --config-env` environment of samconfig.toml.
type Environment struct {
	Name       string
	StackName  string
	Region     string
	Parameters map[string]string // parameter_overrides
}

// LoadSAMConfig reads the deploy environments of a samconfig.toml, in name
// order. An environment is a top-level table with a deploy.parameters table.
func LoadSAMConfig(path string) ([]Environment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	global := Map(Map(Map(doc["default"])["global"])["parameters"])
	var envs []Environment
	for name, v := range doc {
		deploy := Map(Map(Map(v)["deploy"])["parameters"])
		if deploy == nil {
			continue
		}
		env := Environment{Name: name, Parameters: map[string]string{}}
		env.StackName, _ = deploy["stack_name"].(string)
		env.Region, _ = deploy["region"].(string)
		if env.Region == "" {
			env.Region, _ = global["region"].(string)
		}
		var overrides []string
		switch o := deploy["parameter_overrides"].(type) {
		case string:
			overrides = strings.Fields(o)
		case []any:
			for _, item := range o {
				s, ok := item.(string)
				if !ok {
					return nil, fmt.Errorf("%s: %s: parameter_overrides holds a non-string", path, name)
				}
				overrides = append(overrides, s)
			}
		}
		for _, kv := range overrides {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("%s: %s: parameter override %q is not Key=Value", path, name, kv)
			}
			if _, dup := env.Parameters[k]; dup {
				return nil, fmt.Errorf("%s: %s: parameter %s is set twice", path, name, k)
			}
			env.Parameters[k] = strings.Trim(val, `"`)
		}
		envs = append(envs, env)
	}
	slices.SortFunc(envs, func(a, b Environment) int { return strings.Compare(a.Name, b.Name) })
	return envs, nil
}
