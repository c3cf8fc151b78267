// Command resume-subscription serves the resume-subscription function on
// AWS Lambda or on a local port.
package main

import (
	"billing/functions/resume-subscription/resumesub"
	"billing/shared/function"
)

func main() { function.Main(resumesub.Spec) }
