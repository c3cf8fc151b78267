// Package migrations holds the database schema as plain SQL files, named as
// the Supabase CLI names them (YYYYMMDDHHMMSS_name.sql), so that both
// `supabase db push` and shared/migrate can apply them. The files are
// forward-only and idempotent: running any of them again is harmless.
//
// bootstrap/supabase.sql is not a migration: it creates, on plain
// PostgreSQL only, what Supabase provides (the anon, authenticated and
// service_role roles, the auth schema with auth.users and auth.uid()), and
// shared/migrate applies it before the migrations.
package migrations

import "embed"

// FS holds the migration files (*.sql at the top of this folder), to be
// applied in name order.
//
//go:embed *.sql
var FS embed.FS

// Bootstrap is the SQL that creates the Supabase stand-ins on plain
// PostgreSQL. It creates only what is missing.
//
//go:embed bootstrap/supabase.sql
var Bootstrap string
