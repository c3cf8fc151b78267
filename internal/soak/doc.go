// Package soak holds the soak test: for a bounded time (60 s by default,
// BILLING_SOAK_SECONDS to change it) mixed check-subscription calls,
// signed webhooks with duplicates, shuffles and injected failures,
// checkouts (with Stripe failing now and then) and cancels run against the
// real functions and database. Afterwards every event sent must be
// applied exactly once, every subscription must hold the state of its
// latest event, and every user's profile snapshot must equal the one
// recomputed from their subscriptions. The figures go to
// docs/benchmarks.md ("Soak test").
package soak
