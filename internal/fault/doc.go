// Package fault holds the fault-injection tests against the real stack
// (functions built as their mains build them, the test database,
// stripe-mock behind a recording proxy, an httptest SendGrid): the
// database stops mid-run and comes back, Stripe answers 500 or 429 or
// drops the connection, SendGrid fails. See SECURITY.md and
// docs/operations.md for what each promises.
package fault
