// Command handle-stripe-webhook serves the Stripe webhook endpoint on AWS
// Lambda or on a local port.
package main

import (
	"billing/functions/handle-stripe-webhook/webhook"
	"billing/shared/function"
)

func main() { function.Main(webhook.Spec) }
