// Package dbcontract holds no code: its tests check the database contract
// that migrations/ promises, on a real PostgreSQL (see internal/testdb):
// row level security and privileges as the Supabase roles see them, the
// profile trigger and backfill, the guard on billing columns, and the SQL
// functions' behaviour and JSON shapes (billing_user_state,
// billing_set_usage_limits, billing_sync_catalog, consume_usage,
// release_usage, get_usage: caps, monthly counters, idempotency keys), and the migration's warning about a profiles policy that
// shows billing columns to other users.
//
// Run with TEST_DATABASE_URL set, as `make test` does.
package dbcontract
