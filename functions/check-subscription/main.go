// Command check-subscription serves the check-subscription function on AWS
// Lambda or on a local port.
package main

import (
	"billing/functions/check-subscription/checksub"
	"billing/shared/function"
)

func main() { function.Main(checksub.Spec) }
