package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Evaluator resolves the intrinsic functions of a template for one set of
// parameter values, the way CloudFormation does before it creates the
// resources. A Ref or GetAtt of a resource evaluates to a placeholder: the
// logical ID, or "LogicalId.Attribute". Dynamic references
// ({{resolve:...}}) are left as they are.
type Evaluator struct {
	t      *Template
	params map[string]any
	region string
	stack  string
}

// Evaluator checks params (the parameter overrides of a deployment) against
// the template's Parameters (required ones, AllowedValues, AllowedPattern)
// and returns an evaluator for them.
func (t *Template) Evaluator(params map[string]string, region, stack string) (*Evaluator, error) {
	e := &Evaluator{t: t, params: map[string]any{}, region: region, stack: stack}
	for name := range params {
		if _, ok := t.Parameters[name]; !ok {
			return nil, fmt.Errorf("parameter %s is not declared by the template", name)
		}
	}
	names := make([]string, 0, len(t.Parameters))
	for name := range t.Parameters {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := t.Parameters[name]
		val, set := params[name]
		if !set {
			def, has := p["Default"]
			if !has {
				return nil, fmt.Errorf("parameter %s is required and not set", name)
			}
			s, ok := intString(def)
			if !ok {
				return nil, fmt.Errorf("parameter %s: default %v is not a scalar", name, def)
			}
			val = s
		}
		if allowed, ok := p["AllowedValues"].([]any); ok {
			found := false
			for _, a := range allowed {
				if s, _ := intString(a); s == val {
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("parameter %s: %q is not one of %v", name, val, allowed)
			}
		}
		if pat, ok := p["AllowedPattern"].(string); ok {
			re, err := regexp.Compile(pat)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: AllowedPattern: %w", name, err)
			}
			if !re.MatchString(val) {
				return nil, fmt.Errorf("parameter %s: %q does not match %s", name, val, pat)
			}
		}
		if p["Type"] == "CommaDelimitedList" {
			var list []any
			for _, item := range strings.Split(val, ",") {
				list = append(list, strings.TrimSpace(item))
			}
			e.params[name] = list
		} else {
			e.params[name] = val
		}
	}
	return e, nil
}

// Param returns a parameter's value: a string, or []any for a list.
func (e *Evaluator) Param(name string) any { return e.params[name] }

// Condition evaluates a named condition.
func (e *Evaluator) Condition(name string) (bool, error) {
	c, ok := e.t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("condition %s is not declared", name)
	}
	v, _, err := e.Eval(c)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is not a boolean", name)
	}
	return b, nil
}

// Eval resolves v. present is false when v is (or resolves to) AWS::NoValue.
func (e *Evaluator) Eval(v any) (out any, present bool, err error) {
	name, arg, ok := Intrinsic(v)
	if !ok {
		switch x := v.(type) {
		case map[string]any:
			m := make(map[string]any, len(x))
			for k, val := range x {
				r, p, err := e.Eval(val)
				if err != nil {
					return nil, false, fmt.Errorf("%s: %w", k, err)
				}
				if p {
					m[k] = r
				}
			}
			return m, true, nil
		case []any:
			s := make([]any, 0, len(x))
			for _, val := range x {
				r, p, err := e.Eval(val)
				if err != nil {
					return nil, false, err
				}
				if p {
					s = append(s, r)
				}
			}
			return s, true, nil
		}
		return v, true, nil
	}
	switch name {
	case "Ref":
		return e.ref(arg)
	case "Condition":
		s, _ := arg.(string)
		b, err := e.Condition(s)
		return b, true, err
	case "Fn::If":
		args, _ := arg.([]any)
		if len(args) != 3 {
			return nil, false, fmt.Errorf("Fn::If needs [condition, then, else]")
		}
		cond, _ := args[0].(string)
		b, err := e.Condition(cond)
		if err != nil {
			return nil, false, err
		}
		if b {
			return e.Eval(args[1])
		}
		return e.Eval(args[2])
	case "Fn::Equals":
		args, err := e.evalList(arg, 2)
		if err != nil {
			return nil, false, err
		}
		a, _ := intString(args[0])
		b, _ := intString(args[1])
		return a == b, true, nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		return e.logic(name, arg)
	case "Fn::Join":
		return e.join(arg)
	case "Fn::Sub":
		return e.sub(arg)
	case "Fn::GetAtt":
		args, _ := arg.([]any)
		if len(args) != 2 {
			return nil, false, fmt.Errorf("Fn::GetAtt needs [resource, attribute]")
		}
		id, _ := args[0].(string)
		if _, ok := e.t.Resources[id]; !ok {
			return nil, false, fmt.Errorf("Fn::GetAtt of unknown resource %s", id)
		}
		return fmt.Sprintf("%s.%v", id, args[1]), true, nil
	}
	return nil, false, fmt.Errorf("%s is not supported by this evaluator", name)
}

func (e *Evaluator) ref(arg any) (any, bool, error) {
	s, _ := arg.(string)
	switch s {
	case "AWS::NoValue":
		return nil, false, nil
	case "AWS::Region":
		return e.region, true, nil
	case "AWS::StackName":
		return e.stack, true, nil
	case "AWS::AccountId":
		return "123456789012", true, nil
	case "AWS::Partition":
		return "aws", true, nil
	}
	if v, ok := e.params[s]; ok {
		return v, true, nil
	}
	if _, ok := e.t.Resources[s]; ok {
		return s, true, nil
	}
	return nil, false, fmt.Errorf("unknown Ref %q", s)
}

func (e *Evaluator) evalList(arg any, n int) ([]any, error) {
	args, _ := arg.([]any)
	if n >= 0 && len(args) != n {
		return nil, fmt.Errorf("want %d arguments, got %v", n, arg)
	}
	out := make([]any, len(args))
	for i, a := range args {
		v, _, err := e.Eval(a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (e *Evaluator) logic(name string, arg any) (any, bool, error) {
	args, err := e.evalList(arg, -1)
	if err != nil {
		return nil, false, err
	}
	var bs []bool
	for _, a := range args {
		b, ok := a.(bool)
		if !ok {
			return nil, false, fmt.Errorf("%s of a non-boolean", name)
		}
		bs = append(bs, b)
	}
	switch {
	case name == "Fn::Not" && len(bs) == 1:
		return !bs[0], true, nil
	case name == "Fn::And":
		return !slices.Contains(bs, false), true, nil
	case name == "Fn::Or":
		return slices.Contains(bs, true), true, nil
	}
	return nil, false, fmt.Errorf("%s needs one argument", name)
}

func (e *Evaluator) join(arg any) (any, bool, error) {
	args, _ := arg.([]any)
	if len(args) != 2 {
		return nil, false, fmt.Errorf("Fn::Join needs [delimiter, list]")
	}
	sep, _ := args[0].(string)
	list, _, err := e.Eval(args[1])
	if err != nil {
		return nil, false, err
	}
	items, ok := list.([]any)
	if !ok {
		return nil, false, fmt.Errorf("Fn::Join of a non-list")
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i], _ = intString(it)
	}
	return strings.Join(parts, sep), true, nil
}

func (e *Evaluator) sub(arg any) (any, bool, error) {
	tmpl, vars := "", map[string]any{}
	switch a := arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, false, fmt.Errorf("Fn::Sub needs a string or [string, variables]")
		}
		tmpl, _ = a[0].(string)
		for k, v := range Map(a[1]) {
			r, _, err := e.Eval(v)
			if err != nil {
				return nil, false, err
			}
			vars[k] = r
		}
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			s, _ := intString(v)
			return s
		}
		var v any
		var err error
		if id, attr, found := strings.Cut(name, "."); found {
			v, _, err = e.Eval(map[string]any{"Fn::GetAtt": []any{id, attr}})
		} else {
			v, _, err = e.ref(name)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		s, ok := intString(v)
		if !ok && firstErr == nil {
			firstErr = fmt.Errorf("Fn::Sub: ${%s} is not a string", name)
		}
		return s
	})
	return out, true, firstErr
}
