// Package attacks holds, in one place, the attacker's list of the security
// review as tests against the real functions (built as their mains build
// them, over the test database and stripe-mock): other users' IDs in
// bodies, API keys instead of user tokens, forged and stale tokens,
// replayed and test-mode webhooks, oversized and deeply nested JSON, wrong
// content types, open redirects through every path field, SQL
// metacharacters in every string that reaches the database, CORS from an
// origin not allowed, and no secret in any log line or error body. See
// SECURITY.md.
package attacks
