package deploy

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed CloudFormation (SAM) template. Short tags such as
// !Ref, !Sub or !GetAtt are turned into their long form ({"Ref": x},
// {"Fn::Sub": x}, {"Fn::GetAtt": [resource, attribute]}), so a value is
// made of map[string]any, []any, string, int, float64, bool and nil.
type Template struct {
	Raw        map[string]any
	Parameters map[string]map[string]any
	Conditions map[string]any
	Resources  map[string]Resource
	Outputs    map[string]map[string]any
}

// Resource is one entry of the Resources section.
type Resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
}

// Parse reads a YAML template.
func Parse(data []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if len(doc.Content) != 1 {
		return nil, errors.New("template: not one YAML document")
	}
	v, err := convert(doc.Content[0])
	if err != nil {
		return nil, err
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("template: the document is not a mapping")
	}
	t := &Template{Raw: raw, Parameters: map[string]map[string]any{}, Resources: map[string]Resource{},
		Outputs: map[string]map[string]any{}}
	for k, p := range Map(raw["Parameters"]) {
		t.Parameters[k] = Map(p)
	}
	t.Conditions = Map(raw["Conditions"])
	for k, o := range Map(raw["Outputs"]) {
		t.Outputs[k] = Map(o)
	}
	for k, r := range Map(raw["Resources"]) {
		m := Map(r)
		typ, _ := m["Type"].(string)
		if typ == "" {
			return nil, fmt.Errorf("template: resource %s has no Type", k)
		}
		t.Resources[k] = Resource{Type: typ, Properties: Map(m["Properties"]), Metadata: Map(m["Metadata"])}
	}
	return t, nil
}

// ResourcesOfType returns the logical IDs of the resources of type typ, sorted.
func (t *Template) ResourcesOfType(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// GlobalFunction returns the Globals.Function section (SAM).
func (t *Template) GlobalFunction() map[string]any {
	return Map(Map(t.Raw["Globals"])["Function"])
}

// FunctionProperty returns a property of an AWS::Serverless::Function with
// SAM's Globals applied for scalar properties: the function's own value,
// else the global one.
func (t *Template) FunctionProperty(id, name string) any {
	if v, ok := t.Resources[id].Properties[name]; ok {
		return v
	}
	return t.GlobalFunction()[name]
}

// FunctionEnvironment returns the environment variables of a function, the
// Globals ones overridden by the function's own (as SAM merges them), not
// yet evaluated.
func (t *Template) FunctionEnvironment(id string) map[string]any {
	env := maps.Clone(Map(Map(t.GlobalFunction()["Environment"])["Variables"]))
	if env == nil {
		env = map[string]any{}
	}
	maps.Copy(env, Map(Map(t.Resources[id].Properties["Environment"])["Variables"]))
	return env
}

// Map returns v as a mapping, or nil.
func Map(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// Intrinsic returns the name and argument of an intrinsic function value
// ({"Ref": x}, {"Fn::If": [...]}, {"Condition": x}), ok false otherwise.
func Intrinsic(v any) (name string, arg any, ok bool) {
	m := Map(v)
	if len(m) != 1 {
		return "", nil, false
	}
	for k, a := range m {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, a, true
		}
	}
	return "", nil, false
}

// convert turns a YAML node into plain values with the intrinsic functions
// in their long form.
func convert(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return convert(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("template: line %d: duplicate key %q", n.Content[i].Line, k)
			}
			val, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := convert(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			v = n.Value // a short tag's scalar argument is always a string
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("template: line %d: %w", n.Line, err)
		}
	default:
		return nil, fmt.Errorf("template: line %d: unexpected YAML node", n.Line)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	tag := strings.TrimPrefix(n.Tag, "!")
	switch tag {
	case "Ref", "Condition":
		return map[string]any{tag: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			id, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("template: line %d: !GetAtt %q is not Resource.Attribute", n.Line, s)
			}
			return map[string]any{"Fn::GetAtt": []any{id, attr}}, nil
		}
	}
	return map[string]any{"Fn::" + tag: v}, nil
}

// subVar matches a ${Name} or ${Name.Attr} of Fn::Sub; ${!x} is a literal.
var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// intString renders a number parameter the way CloudFormation passes it.
func intString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// LogicalID is the template's logical ID of the function with URL name
// name: "check-subscription" is CheckSubscriptionFunction. The Makefile's
// build-<LogicalID> targets use the same IDs.
func LogicalID(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String() + "Function"
}
