package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"billing/shared/httpkit"
)

// checkOperations: log groups with retention for every function, the
// webhook 5xx alarm, the reconcile alarms and the daily schedule.
func checkOperations(t *Template, folders []string) []string {
	var problems []string
	for id, name := range functionNames(t, folders) {
		if _, ok := t.Resources[id]; !ok {
			continue
		}
		lg, _ := Map(Map(t.Resources[id].Properties["LoggingConfig"])["LogGroup"])["Ref"].(string)
		if !hasRetention(t, lg) {
			problems = append(problems, fmt.Sprintf("%s: LoggingConfig.LogGroup must reference a log group of the template with RetentionInDays", name))
		}
	}
	if !hasWebhookAlarm(t) {
		problems = append(problems, "no alarm on 5xx answers of POST /functions/v1/handle-stripe-webhook (a metric filter on the access logs with an alarm on its metric)")
	}
	if !hasLambdaErrorsAlarm(t, LogicalID(reconcile)) {
		problems = append(problems, "no alarm on the Errors of "+LogicalID(reconcile))
	}
	problems = append(problems, checkSchedule(t)...)
	return problems
}

// hasWebhookAlarm: an alarm on a metric that a metric filter of the HTTP
// API's access log group produces for the webhook route's 5xx answers.
func hasWebhookAlarm(t *Template) bool {
	apiLogs := ""
	for _, id := range t.ResourcesOfType(httpAPIType) {
		dest, _ := Map(Map(t.Resources[id].Properties["AccessLogSettings"])["DestinationArn"])["Fn::GetAtt"].([]any)
		if len(dest) == 2 {
			apiLogs = fmt.Sprint(dest[0])
		}
	}
	route := "POST " + httpkit.BasePath + webhookName
	for _, fid := range t.ResourcesOfType(filterType) {
		p := t.Resources[fid].Properties
		pattern, _ := p["FilterPattern"].(string)
		if Map(p["LogGroupName"])["Ref"] != apiLogs || !strings.Contains(pattern, `"`+route+`"`) ||
			!strings.Contains(pattern, "$.status >= 500") {
			continue
		}
		for _, mt := range asList(p["MetricTransformations"]) {
			name := Map(mt)["MetricName"]
			for _, aid := range t.ResourcesOfType(alarmType) {
				a := t.Resources[aid].Properties
				if a["MetricName"] == name && fmt.Sprint(a["Namespace"]) == fmt.Sprint(Map(mt)["MetricNamespace"]) {
					return true
				}
			}
		}
	}
	return false
}

// hasLambdaErrorsAlarm: an alarm on AWS/Lambda Errors of the function id.
func hasLambdaErrorsAlarm(t *Template, id string) bool {
	for _, aid := range t.ResourcesOfType(alarmType) {
		a := t.Resources[aid].Properties
		if a["Namespace"] != "AWS/Lambda" || a["MetricName"] != "Errors" {
			continue
		}
		for _, d := range asList(a["Dimensions"]) {
			if Map(d)["Name"] == "FunctionName" && Map(Map(d)["Value"])["Ref"] == id {
				return true
			}
		}
	}
	return false
}

// checkSchedule: reconcile runs on a schedule parameter (daily by default)
// and the event it gets is an HTTP API v2 event that the Lambda adapter
// turns into POST /functions/v1/reconcile-subscriptions.
func checkSchedule(t *Template) []string {
	id := LogicalID(reconcile)
	for _, ev := range Map(t.Resources[id].Properties["Events"]) {
		ev := Map(ev)
		if ev["Type"] != "Schedule" {
			continue
		}
		p := Map(ev["Properties"])
		param, _ := Map(p["Schedule"])["Ref"].(string)
		if def := t.Parameters[param]["Default"]; def != "rate(1 day)" {
			return []string{fmt.Sprintf("the reconcile schedule must be a parameter defaulting to rate(1 day), got %v", p["Schedule"])}
		}
		input, _ := p["Input"].(string)
		var v2 events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal([]byte(input), &v2); err != nil {
			return []string{"the reconcile schedule's Input is not an HTTP API v2 event: " + err.Error()}
		}
		req, err := httpkit.RequestFromV2(context.Background(), v2)
		if err != nil || req.Method != http.MethodPost || req.URL.Path != httpkit.BasePath+reconcile {
			return []string{fmt.Sprintf("the reconcile schedule's Input must become POST %s%s (err %v)", httpkit.BasePath, reconcile, err)}
		}
		return nil
	}
	return []string{"reconcile-subscriptions has no Schedule event"}
}

// checkOutputs: the base URL for FunctionsClient and the webhook URL.
func checkOutputs(t *Template, e *Evaluator) []string {
	api := t.ResourcesOfType(httpAPIType)
	if len(api) != 1 {
		return []string{"want one HTTP API"}
	}
	base := fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/functions/v1", api[0], e.region)
	want := map[string]string{"FunctionsBaseUrl": base, "StripeWebhookUrl": base + "/" + webhookName}
	var problems []string
	for _, name := range []string{"FunctionsBaseUrl", "StripeWebhookUrl"} {
		got, _, err := e.Eval(t.Outputs[name]["Value"])
		if err != nil || got != want[name] {
			problems = append(problems, fmt.Sprintf("output %s = %v (%v), want %s", name, got, err, want[name]))
		}
	}
	return problems
}

// checkMakefile: a build-<LogicalID> target for every function resource,
// whose command (as `make -n` prints it) is the Lambda build of its folder.
func checkMakefile(t *Template, folders []string, dir string) []string {
	var problems []string
	for _, id := range t.ResourcesOfType(functionType) {
		name, ok := functionNames(t, folders)[id]
		if !ok {
			name = nameOf(t, id)
		}
		cmd := exec.Command("make", "-s", "-n", "build-"+id, "ARTIFACTS_DIR=/artifacts/"+id)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			problems = append(problems, fmt.Sprintf("make -n build-%s: %v: %s", id, err, out))
			continue
		}
		for _, want := range []string{
			"CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -trimpath -ldflags \"-s -w\"",
			"-o /artifacts/" + id + "/bootstrap ./functions/" + name,
		} {
			if !strings.Contains(string(out), want) {
				problems = append(problems, fmt.Sprintf("build-%s does not run %q; it runs: %s", id, want, out))
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// nameOf finds a function's URL name from its route, for resources whose
// folder does not exist (yet).
func nameOf(t *Template, id string) string {
	for _, p := range routePaths(t, id) {
		return strings.TrimPrefix(p, httpkit.BasePath)
	}
	return id
}
