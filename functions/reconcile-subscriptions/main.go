// Command reconcile-subscriptions is the reconcile-subscriptions function:
// the success page's eager sync of one user, and the scheduled (or an
// operator's) full reconcile with Stripe. See package reconcile.
package main

import "billing/functions/reconcile-subscriptions/reconcile"

func main() { reconcile.Main() }
