package tsclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"billing/functions/change-plan/changeplan"
	"billing/functions/check-subscription/checksub"
	"billing/functions/create-checkout-session/checkout"
	"billing/shared/access"
	"billing/shared/httpkit"
	"billing/shared/plans"
)

// usageCatalog has a counter of every kind, limited and unlimited, so that
// the usage counters marshal every shape they have.
const usageCatalog = `{"free_plan": "free", "usage_time_zone": "UTC",
 "counters": {"held": {"kind": "cap"}, "exports": {"kind": "monthly"}},
 "plans": [
  {"id": "free", "name": "Free", "entitlements": [], "limits": {"held": 1, "exports": 1}},
  {"id": "pro", "name": "Pro", "price_ids": {"test": "price_pro", "live": "price_pro_live"},
   "entitlements": ["member_access"], "limits": {"held": null, "exports": null}}]}`

// subscriptionType is the check-subscription body: the keys access.Result
// marshals, in order, typed from a full result and from what
// check-subscription answers a user with nothing (checksub.Compute, which
// every function answering with this body uses): a key that answer leaves
// out is optional, one it sends as null is "| null".
func subscriptionType(t *testing.T) string {
	getenv := func(name string) string { return "price_" + strings.ToLower(name) }
	cat, err := plans.Parse([]byte(usageCatalog), plans.ModeTest, getenv)
	if err != nil {
		t.Fatal(err)
	}
	one, ten := 1, 10
	now := time.Date(2026, 12, 26, 0, 0, 0, 0, time.UTC)
	plan, status := "standard", "active"
	usage := access.Usage(cat, "free", map[string]access.Stored{"held": {Used: 1}}, now)
	for name, c := range access.Usage(cat, "pro", nil, now) {
		usage[name+"_unlimited"] = c
	}
	full := access.Result{Subscribed: true, Plan: "standard", PlanType: &plan, Status: &status, CancelAtPeriodEnd: true,
		CurrentPeriodEnd: &now, AccessUntil: &now, Entitlements: map[string]bool{"member_access": true},
		Limits: map[string]*int{"properties": &ten, "seats": &one, "unlimited": nil}, Usage: usage,
		ScheduledPlan: &plan, ScheduledChangeAt: &now}
	def, err := plans.Load("", plans.ModeTest, getenv)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := checksub.Compute(context.Background(), emptyState{}, def, "00000000-0000-0000-0000-000000000001", now)
	if err != nil {
		t.Fatal(err)
	}
	fullKeys, fullVals := orderedObject(t, full)
	emptyKeys, emptyVals := orderedObject(t, empty)
	isHas := func(r access.Result, k string) bool {
		for name := range r.Entitlements {
			if access.HasKey(name) == k {
				return true
			}
		}
		return false
	}
	for _, k := range emptyKeys {
		if _, ok := fullVals[k]; !ok && !isHas(empty, k) {
			t.Fatalf("check-subscription's answer has key %q that the full result lacks: add it to the full result", k)
		}
	}
	var b strings.Builder
	b.WriteString("/** The body of check-subscription, cancel-subscription, resume-subscription, change-plan and the user-scoped reconcile. */\n")
	b.WriteString("export interface SubscriptionState {\n")
	hasDone := false
	for _, k := range fullKeys {
		if isHas(full, k) {
			if !hasDone {
				b.WriteString("  /** has<PascalCase(entitlement)> for every entitlement of the catalog. */\n")
				b.WriteString("  [entitlement: `has${string}`]: boolean\n")
				hasDone = true
			}
			continue
		}
		var typ string
		if k == "usage" {
			typ = "Record<string, UsageCounter>"
		} else {
			typ = tsType(t, k, fullVals[k])
		}
		ev, inEmpty := emptyVals[k]
		if bytes.Equal(ev, []byte("null")) {
			typ += " | null"
		}
		opt := ""
		if !inEmpty {
			opt = "?"
		}
		fmt.Fprintf(&b, "  %s%s: %s\n", k, opt, typ)
	}
	b.WriteString("}\n\n")
	b.WriteString(counterType(t, fullVals["usage"]))
	return b.String()
}

// counterType is the interface of one usage counter, from every counter of
// the full result: a key some counters leave out is optional.
func counterType(t *testing.T, raw json.RawMessage) string {
	var counters map[string]json.RawMessage
	if err := json.Unmarshal(raw, &counters); err != nil {
		t.Fatal(err)
	}
	kinds := constants(t, "../../shared/plans", "Kind")
	var order []string
	seen := map[string]int{}
	types := map[string]map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(counters)) {
		keys, vals := orderedObject(t, counters[name])
		for _, k := range keys {
			if _, ok := seen[k]; !ok {
				order = append(order, k)
				types[k] = map[string]bool{}
			}
			seen[k]++
			if string(vals[k]) == "null" {
				types[k]["null"] = true
			} else {
				types[k][tsType(t, k, vals[k])] = true
			}
		}
		var kind string
		_ = json.Unmarshal(vals["kind"], &kind)
		if !slices.Contains(kinds, kind) {
			t.Fatalf("counter %s: kind %q is not a plans.Kind* constant %v", name, kind, kinds)
		}
	}
	for _, kind := range kinds {
		if !strings.Contains(string(raw), strconv.Quote(kind)) {
			t.Fatalf("no counter of kind %q in the full result: add one to usageCatalog", kind)
		}
	}
	var b strings.Builder
	b.WriteString("/** One usage counter: a cap (what the user holds, never resets) or monthly (resetsAt: the next reset; only for monthly). limit and remaining are null when unlimited. */\n")
	b.WriteString("export interface UsageCounter {\n")
	for _, k := range order {
		typ := joinTypes(types[k])
		if k == "kind" {
			typ = union(kinds)
		}
		opt := ""
		if seen[k] < len(counters) {
			opt = "?"
		}
		fmt.Fprintf(&b, "  %s%s: %s\n", k, opt, typ)
	}
	b.WriteString("}\n\n")
	return b.String()
}

// tsType is the TypeScript type of a JSON value; an object is a map of the
// type of its values (entitlements, limits).
func tsType(t *testing.T, key string, raw json.RawMessage) string {
	switch raw[0] {
	case 't', 'f':
		return "boolean"
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		if _, err := time.Parse(time.RFC3339, s); err == nil {
			return "string /* RFC 3339 */"
		}
		return "string"
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		types := map[string]bool{}
		for _, v := range m {
			if string(v) == "null" {
				types["null"] = true
			} else {
				types[tsType(t, key, v)] = true
			}
		}
		return "Record<string, " + joinTypes(types) + ">"
	default:
		if _, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return "number"
		}
	}
	t.Fatalf("key %s: no TypeScript type for %s", key, raw)
	return ""
}

// joinTypes is a TypeScript union of types, sorted, null last.
func joinTypes(types map[string]bool) string {
	var list []string
	for k := range types {
		if k != "null" {
			list = append(list, k)
		}
	}
	sort.Strings(list)
	if types["null"] {
		list = append(list, "null")
	}
	return strings.Join(list, " | ")
}

// union is a TypeScript union of string literals.
func union(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, " | ")
}

// orderedObject marshals v and returns its keys in order and their values.
func orderedObject(t *testing.T, v any) ([]string, map[string]json.RawMessage) {
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		vals[tok.(string)] = val
	}
	return keys, vals
}

// errorType is the error body as httpkit writes it and the union of every
// stable error code: the Code* string constants of shared/httpkit and of
// every package under functions/.
func errorType(t *testing.T) string {
	rec := httptest.NewRecorder()
	httpkit.WriteError(rec, httptest.NewRequest("GET", "/", nil), httpkit.NewError(http.StatusBadRequest, "x", "y"))
	keys, _ := orderedObject(t, json.RawMessage(rec.Body.Bytes()))
	base := constants(t, "../../shared/httpkit", "Code")
	if len(base) < 10 {
		t.Fatalf("found only %d error codes in httpkit", len(base))
	}
	codes := append(base, constants(t, "../../functions", "Code")...)
	sort.Strings(codes)
	codes = slices.Compact(codes)
	for _, c := range []string{checkout.CodeCheckoutInProgress, checkout.CodeSubscriptionNeedsPayment,
		changeplan.CodePaymentFailed, changeplan.CodePreviewExpired, httpkit.CodeMissingToken} {
		if !slices.Contains(codes, c) {
			t.Fatalf("error code %q was not found by parsing the Go files", c)
		}
	}
	var b strings.Builder
	b.WriteString("/** Every stable error code a function answers with. */\nexport type ErrorCode =\n")
	for _, c := range codes {
		fmt.Fprintf(&b, "  | %q\n", c)
	}
	b.WriteString("\n/** The JSON body of every error answer. */\nexport interface ErrorBody {\n")
	for _, k := range keys {
		typ := "string"
		if k == "error" {
			typ = "ErrorCode"
		}
		fmt.Fprintf(&b, "  %s: %s\n", k, typ)
	}
	b.WriteString("}\n")
	return b.String()
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// constants are the values of the string constants named prefix* in the
// Go files (not tests) under dir, sorted, each snake_case.
func constants(t *testing.T, dir, prefix string) []string {
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					s, _ := strconv.Unquote(lit.Value)
					if !snakeCase.MatchString(s) {
						t.Fatalf("%s: constant %s = %q is not a snake_case code", path, name.Name, s)
					}
					out = append(out, s)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no %s* constants under %s", prefix, dir)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// structType is an interface with the JSON fields of the struct s.v.
func structType(t *testing.T, s structSpec, names map[string]string) string {
	typ := reflect.TypeOf(s.v)
	var b strings.Builder
	fmt.Fprintf(&b, "/** %s */\nexport interface %s {\n", s.doc, s.name)
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" || tag == "" {
			continue
		}
		optional := strings.Contains(","+opts+",", ",omitempty,")
		if s.request {
			optional = !slices.Contains(s.required, tag)
		}
		ts, ok := s.types[tag]
		if !ok {
			ts = goType(t, s.name+"."+tag, f.Type, names)
		}
		opt := ""
		if optional {
			opt = "?"
		}
		fmt.Fprintf(&b, "  %s%s: %s\n", tag, opt, ts)
	}
	b.WriteString("}\n\n")
	return b.String()
}

// goType is the TypeScript type of what encoding/json makes of a Go type:
// a pointer may be null, a struct is its named interface.
func goType(t *testing.T, field string, typ reflect.Type, names map[string]string) string {
	switch typ.Kind() {
	case reflect.Pointer:
		return goType(t, field, typ.Elem(), names) + " | null"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
		return "number"
	case reflect.Slice:
		return goType(t, field, typ.Elem(), names) + "[]"
	case reflect.Struct:
		if n, ok := names[typ.Name()]; ok {
			return n
		}
	}
	t.Fatalf("field %s: no TypeScript type for Go type %s (add it to goType or to the names)", field, typ)
	return ""
}
