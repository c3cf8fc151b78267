// Command cancel-subscription serves the cancel-subscription function on
// AWS Lambda or on a local port.
package main

import (
	"billing/functions/cancel-subscription/cancelsub"
	"billing/shared/function"
)

func main() { function.Main(cancelsub.Spec) }
