// Command change-plan serves the change-plan function on AWS Lambda or on
// a local port.
package main

import (
	"billing/functions/change-plan/changeplan"
	"billing/shared/function"
)

func main() { function.Main(changeplan.Spec) }
