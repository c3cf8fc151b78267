package deploy

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"billing/shared/httpkit"
)

// scheduledEvent is EventBridge's event for a schedule rule.
//
//go:embed testdata/eventbridge-scheduled-event.json
var scheduledEvent []byte

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
	problems = append(problems, checkSchedule(t, scheduledEvent)...)
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
// and gets EventBridge's own event, which the function's Lambda entry
// (httpkit.RunWithEvents) tells from an HTTP request and runs as a full
// reconcile; an Input would replace that event.
func checkSchedule(t *Template, scheduled []byte) []string {
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
		for _, k := range []string{"Input", "InputPath", "InputTransformer"} {
			if _, ok := p[k]; ok {
				return []string{"the reconcile schedule must send EventBridge's own event, not an " + k}
			}
		}
		var cw events.CloudWatchEvent
		if err := json.Unmarshal(scheduled, &cw); err != nil || cw.Source != "aws.events" || cw.DetailType != "Scheduled Event" {
			return []string{fmt.Sprintf("the scheduled event sample is not an EventBridge Scheduled Event (%v)", err)}
		}
		if httpkit.IsHTTPEvent(scheduled) {
			return []string{"the Lambda entry would take EventBridge's scheduled event for an HTTP request"}
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
