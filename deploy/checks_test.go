package deploy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"billing/shared/httpkit"
)

// The checks return one line per problem, so a test can show all of them
// and the mutation tests can assert which one a broken template triggers.

const (
	functionType = "AWS::Serverless::Function"
	httpAPIType  = "AWS::Serverless::HttpApi"
	logGroupType = "AWS::Logs::LogGroup"
	alarmType    = "AWS::CloudWatch::Alarm"
	filterType   = "AWS::Logs::MetricFilter"
	webhookName  = "handle-stripe-webhook"
	checkName    = "check-subscription"
	reconcile    = "reconcile-subscriptions"
)

// functionName maps each function resource back to its URL name.
func functionNames(t *Template, folders []string) map[string]string {
	names := map[string]string{}
	for _, f := range folders {
		names[LogicalID(f)] = f
	}
	return names
}

// checkFunctions: every folder has exactly one function resource, named
// LogicalID(folder) and routed at /functions/v1/<folder>, and every
// function resource belongs to a folder.
func checkFunctions(t *Template, folders []string) []string {
	var problems []string
	names := functionNames(t, folders)
	routedAt := map[string][]string{} // URL name -> resources whose routes use it
	for _, id := range t.ResourcesOfType(functionType) {
		for _, path := range routePaths(t, id) {
			name := strings.TrimPrefix(path, httpkit.BasePath)
			routedAt[name] = append(routedAt[name], id)
		}
		if _, ok := names[id]; !ok {
			problems = append(problems, fmt.Sprintf("resource %s has no folder under functions/ (want functions/<name> with LogicalID(name) = %s)", id, id))
		}
	}
	for _, f := range folders {
		id := LogicalID(f)
		if r, ok := t.Resources[id]; !ok || r.Type != functionType {
			problems = append(problems, fmt.Sprintf("functions/%s has no %s resource %s", f, functionType, id))
		}
		if ids := slices.Compact(routedAt[f]); len(ids) != 1 {
			problems = append(problems, fmt.Sprintf("functions/%s is routed by %d resources %v, want exactly 1", f, len(ids), ids))
		}
	}
	for name, ids := range routedAt {
		if !slices.Contains(folders, name) {
			problems = append(problems, fmt.Sprintf("route %s%s (%v) is not a folder under functions/", httpkit.BasePath, name, ids))
		}
	}
	slices.Sort(problems)
	return problems
}

// routePaths lists the paths of a function's HttpApi events.
func routePaths(t *Template, id string) []string {
	var paths []string
	for _, ev := range Map(t.Resources[id].Properties["Events"]) {
		ev := Map(ev)
		if ev["Type"] == "HttpApi" {
			p, _ := Map(ev["Properties"])["Path"].(string)
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}

// wantMethods is what each function answers; OPTIONS is the HTTP API's CORS.
func wantMethods(name string) []string {
	if name == checkName {
		return []string{"GET", "POST"}
	}
	return []string{"POST"}
}

// checkRoutes: each function has HttpApi routes on the one HTTP API, at
// /functions/v1/<name>, with exactly its methods; reconcile also has its
// schedule and nothing else has any other event.
func checkRoutes(t *Template, folders []string) []string {
	var problems []string
	apis := t.ResourcesOfType(httpAPIType)
	if len(apis) != 1 {
		return []string{fmt.Sprintf("want exactly one %s, got %v", httpAPIType, apis)}
	}
	for id, name := range functionNames(t, folders) {
		if _, ok := t.Resources[id]; !ok {
			continue // reported by checkFunctions
		}
		var methods []string
		for evName, ev := range Map(t.Resources[id].Properties["Events"]) {
			ev := Map(ev)
			props := Map(ev["Properties"])
			switch ev["Type"] {
			case "HttpApi":
				if ref, _ := Map(props["ApiId"])["Ref"].(string); ref != apis[0] {
					problems = append(problems, fmt.Sprintf("%s: event %s is not on the HTTP API %s", name, evName, apis[0]))
				}
				if p := props["Path"]; p != httpkit.BasePath+name {
					problems = append(problems, fmt.Sprintf("%s: event %s path %v, want %s%s", name, evName, p, httpkit.BasePath, name))
				}
				m, _ := props["Method"].(string)
				methods = append(methods, strings.ToUpper(m))
			case "Schedule", "ScheduleV2":
				if name != reconcile {
					problems = append(problems, fmt.Sprintf("%s: unexpected schedule %s", name, evName))
				}
			default:
				problems = append(problems, fmt.Sprintf("%s: unexpected event %s of type %v", name, evName, ev["Type"]))
			}
		}
		slices.Sort(methods)
		if want := wantMethods(name); !slices.Equal(methods, want) {
			problems = append(problems, fmt.Sprintf("%s: methods %v, want %v", name, methods, want))
		}
	}
	slices.Sort(problems)
	return problems
}

// wantTimeout is each function's Lambda timeout in seconds: the webhook
// gets the HTTP API's 30 s, reconcile walks every subscription.
func wantTimeout(name string) int {
	switch name {
	case webhookName:
		return 30
	case reconcile:
		return 300
	}
	return 10
}

// checkProperties: runtime, architecture, handler, build method, code URI,
// memory and timeout of every function, with Globals applied.
func checkProperties(t *Template, folders []string) []string {
	var problems []string
	for id, name := range functionNames(t, folders) {
		r, ok := t.Resources[id]
		if !ok {
			continue
		}
		want := map[string]any{
			"Runtime": "provided.al2023", "Handler": "bootstrap", "CodeUri": ".",
			"MemorySize": 128, "Timeout": wantTimeout(name), "Architectures": []any{"arm64"},
		}
		for _, prop := range slices.Sorted(maps.Keys(want)) {
			got := t.FunctionProperty(id, prop)
			if fmt.Sprint(got) != fmt.Sprint(want[prop]) {
				problems = append(problems, fmt.Sprintf("%s: %s is %v, want %v", name, prop, got, want[prop]))
			}
		}
		if bm := r.Metadata["BuildMethod"]; bm != "makefile" {
			problems = append(problems, fmt.Sprintf("%s: Metadata.BuildMethod is %v, want makefile", name, bm))
		}
	}
	slices.Sort(problems)
	return problems
}

// checkCORS: the HTTP API answers preflight with the headers every
// function allows (httpkit.CORSAllowHeaders), for the ALLOWED_ORIGINS
// parameter, and has throttling and access logs.
func checkHTTPAPI(t *Template) []string {
	apis := t.ResourcesOfType(httpAPIType)
	if len(apis) != 1 {
		return []string{"want exactly one HTTP API"}
	}
	p := t.Resources[apis[0]].Properties
	var problems []string
	cors := Map(p["CorsConfiguration"])
	var headers []string
	for _, h := range asList(cors["AllowHeaders"]) {
		headers = append(headers, strings.ToLower(fmt.Sprint(h)))
	}
	want := strings.Split(httpkit.CORSAllowHeaders, ", ")
	slices.Sort(headers)
	slices.Sort(want)
	if !slices.Equal(headers, want) {
		problems = append(problems, fmt.Sprintf("CORS AllowHeaders %v, want %v", headers, want))
	}
	var methods []string
	for _, m := range asList(cors["AllowMethods"]) {
		methods = append(methods, fmt.Sprint(m))
	}
	slices.Sort(methods)
	if !slices.Equal(methods, []string{"GET", "OPTIONS", "POST"}) {
		problems = append(problems, fmt.Sprintf("CORS AllowMethods %v, want GET, OPTIONS, POST", methods))
	}
	if Map(cors["AllowOrigins"])["Ref"] != "AllowedOrigins" {
		problems = append(problems, "CORS AllowOrigins must be the AllowedOrigins parameter (the same list as ALLOWED_ORIGINS)")
	}
	rs := Map(p["DefaultRouteSettings"])
	if rs["ThrottlingRateLimit"] == nil || rs["ThrottlingBurstLimit"] == nil {
		problems = append(problems, "DefaultRouteSettings must set ThrottlingRateLimit and ThrottlingBurstLimit")
	}
	logs := Map(p["AccessLogSettings"])
	dest, _ := Map(logs["DestinationArn"])["Fn::GetAtt"].([]any)
	if len(dest) != 2 || !hasRetention(t, fmt.Sprint(dest[0])) {
		problems = append(problems, "AccessLogSettings.DestinationArn must be a log group of the template with RetentionInDays")
	}
	format, _ := logs["Format"].(string)
	for _, field := range []string{"$context.routeKey", "$context.status", "$context.requestId"} {
		if !strings.Contains(format, field) {
			problems = append(problems, "the access log format lacks "+field)
		}
	}
	for _, leak := range []string{"$context.authorizer", "$input.body", "header"} {
		if strings.Contains(strings.ToLower(format), strings.ToLower(leak)) {
			problems = append(problems, "the access log format must not log "+leak)
		}
	}
	return problems
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func hasRetention(t *Template, id string) bool {
	r, ok := t.Resources[id]
	return ok && r.Type == logGroupType && r.Properties["RetentionInDays"] != nil
}
