// Command create-checkout-session serves the create-checkout-session
// function on AWS Lambda or on a local port.
package main

import (
	"billing/functions/create-checkout-session/checkout"
	"billing/shared/function"
)

func main() { function.Main(checkout.Spec) }
