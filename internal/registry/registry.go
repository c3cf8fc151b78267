// Package registry lists every billing function, for the local server
// (cmd/billing serve and dev) and for the tests that check the deployment
// template against the functions' configuration.
package registry

import (
	"billing/functions/cancel-subscription/cancelsub"
	"billing/functions/change-plan/changeplan"
	"billing/functions/check-subscription/checksub"
	"billing/functions/create-checkout-session/checkout"
	"billing/functions/create-portal-session/portal"
	"billing/functions/handle-stripe-webhook/webhook"
	"billing/functions/reconcile-subscriptions/reconcile"
	"billing/functions/resume-subscription/resumesub"
	"billing/shared/function"
)

// All returns the Spec of every function, in URL-name order.
func All() []function.Spec {
	return []function.Spec{
		cancelsub.Spec,
		changeplan.Spec,
		checksub.Spec,
		checkout.Spec,
		portal.Spec,
		webhook.Spec,
		reconcile.Spec,
		resumesub.Spec,
	}
}
