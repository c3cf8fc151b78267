// Package deploy checks the AWS deployment against the code: it reads the
// SAM template (template.yaml) with its CloudFormation short tags, evaluates
// it for the parameters of each samconfig.toml environment, and inspects the
// linux/arm64 Lambda binaries.
//
// Its tests are the check of the deployment: every folder under functions/
// has exactly one Lambda function and one route in the template and every
// function resource a folder; each function's environment is exactly what
// its configuration reads (config.Vars of its Needs, plus the price
// variables of the plan catalog); no secret is a parameter or a literal, only
// a Secrets Manager or SSM dynamic reference; and check-subscription's
// binary links no stripe-go.
//
// The SAM CLI is not needed: `make validate` runs cfn-lint (and `sam
// validate --lint` when the SAM CLI is installed) on the same template.
package deploy
