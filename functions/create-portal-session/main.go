// Command create-portal-session serves the create-portal-session function
// on AWS Lambda or on a local port.
package main

import (
	"billing/functions/create-portal-session/portal"
	"billing/shared/function"
)

func main() { function.Main(portal.Spec) }
