// Package dbcontract holds no code: its tests check the database contract
// that migrations/ promises, on a real PostgreSQL (see internal/testdb):
// row level security and privileges as the Supabase roles see them, the
// profile trigger and backfill, the guard on billing columns, and the SQL
// functions' behaviour and JSON shapes (billing_user_state,
// billing_set_usage_limits, consume_usage, get_usage).
//
// Run with TEST_DATABASE_URL set, as `make test` does.
package dbcontract
