// Package migrate applies the SQL files of the migrations package to a
// PostgreSQL database, recording them where the Supabase CLI does
// (supabase_migrations.schema_migrations), so that `supabase db push` and
// this package agree on what has been applied.
//
// On plain PostgreSQL (local development and tests) it first applies the
// bootstrap that creates the Supabase stand-ins (roles anon, authenticated,
// service_role; the auth schema with auth.users and auth.uid()).
//
// Apply holds a session-level advisory lock while it works, so it needs a
// session of its own: connect directly or through Supabase's session pooler
// (port 5432), not the transaction pooler (port 6543).
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"sort"
	"time"

	"billing/migrations"

	"github.com/jackc/pgx/v5"
)

// lockKey is the pg_advisory_lock key that serializes concurrent Apply calls
// on one database ("billing" in ASCII).
const lockKey int64 = 0x62696c6c696e67

// source is a set of migrations: the bootstrap SQL and the migration files.
type source struct {
	bootstrap string
	fsys      fs.FS
}

// embedded is the source compiled into the binary from the migrations package.
var embedded = source{bootstrap: migrations.Bootstrap, fsys: migrations.FS}

// Apply brings the database on conn up to date: under an advisory lock it
// applies the bootstrap when the server is not Supabase, then every migration
// file not yet recorded, in name order, each in its own transaction together
// with its record. It returns the file names it applied (none when the
// database was up to date). A file that fails leaves nothing of itself
// behind; the files before it stay applied. log may be nil.
func Apply(ctx context.Context, conn *pgx.Conn, log *slog.Logger) (applied []string, err error) {
	return apply(ctx, conn, log, embedded)
}

// Pending returns the names of the migration files that are not recorded as
// applied in the database on conn, in the order Apply would apply them.
func Pending(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	return pending(ctx, conn, embedded)
}

func apply(ctx context.Context, conn *pgx.Conn, log *slog.Logger, src source) (applied []string, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	files, err := src.files()
	if err != nil {
		return nil, err
	}

	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", lockKey); err != nil {
		return nil, fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(unlockCtx, "select pg_advisory_unlock($1)", lockKey); uerr != nil && err == nil {
			err = fmt.Errorf("migrate: release advisory lock: %w", uerr)
		}
	}()

	supabase, err := isSupabase(ctx, conn)
	if err != nil {
		return nil, err
	}
	if supabase {
		log.Debug("migrate: Supabase server, bootstrap skipped")
	} else {
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, src.bootstrap)
			return err
		}); err != nil {
			return nil, fmt.Errorf("migrate: bootstrap: %w", err)
		}
		log.Debug("migrate: bootstrap applied")
	}

	if _, err := conn.Exec(ctx, createHistory); err != nil {
		return nil, fmt.Errorf("migrate: create history table: %w", err)
	}
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}

	for _, f := range files {
		if done[f.version] {
			continue
		}
		body, err := fs.ReadFile(src.fsys, f.file)
		if err != nil {
			return applied, fmt.Errorf("migrate: read %s: %w", f.file, err)
		}
		start := time.Now()
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, insertHistory, f.version, []string{string(body)}, f.name)
			return err
		}); err != nil {
			return applied, fmt.Errorf("migrate: apply %s: %w", f.file, err)
		}
		applied = append(applied, f.file)
		log.Info("migration applied", "file", f.file, "duration", time.Since(start).Round(time.Millisecond))
	}
	if len(applied) == 0 {
		log.Debug("migrate: database is up to date", "files", len(files))
	}
	return applied, nil
}

func pending(ctx context.Context, conn *pgx.Conn, src source) ([]string, error) {
	files, err := src.files()
	if err != nil {
		return nil, err
	}
	var exists bool
	if err := conn.QueryRow(ctx, historyExists).Scan(&exists); err != nil {
		return nil, fmt.Errorf("migrate: look for history table: %w", err)
	}
	done := map[string]bool{}
	if exists {
		if done, err = appliedVersions(ctx, conn); err != nil {
			return nil, err
		}
	}
	var names []string
	for _, f := range files {
		if !done[f.version] {
			names = append(names, f.file)
		}
	}
	return names, nil
}

// isSupabase reports whether the server is a Supabase one (hosted or the
// CLI's local stack), recognized by the roles Supabase creates.
func isSupabase(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var ok bool
	err := conn.QueryRow(ctx,
		`select exists (select 1 from pg_roles where rolname in ('supabase_admin', 'supabase_auth_admin'))`,
	).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("migrate: detect Supabase: %w", err)
	}
	return ok, nil
}

// appliedVersions returns the versions recorded in the history table.
func appliedVersions(ctx context.Context, conn *pgx.Conn) (map[string]bool, error) {
	rows, err := conn.Query(ctx, `select version from supabase_migrations.schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrate: read history: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("migrate: read history: %w", err)
	}
	done := make(map[string]bool, len(versions))
	for _, v := range versions {
		done[v] = true
	}
	return done, nil
}

// The history table as the Supabase CLI creates it (the CLI adds more
// nullable columns in newer versions; we write only these three).
const (
	createHistory = `
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text not null primary key,
  statements text[],
  name text
);`
	historyExists = `select to_regclass('supabase_migrations.schema_migrations') is not null`
	insertHistory = `insert into supabase_migrations.schema_migrations (version, statements, name) values ($1, $2, $3)`
)

// errNoFiles is returned when a source has no migration files at all, which
// means a broken build rather than an up-to-date database.
var errNoFiles = errors.New("migrate: no migration files")

// fileName is the Supabase CLI's migration file name: a 14-digit UTC
// timestamp (the version), an underscore, a name, ".sql".
var fileName = regexp.MustCompile(`^([0-9]{14})_([A-Za-z0-9_\-]+)\.sql$`)

// migrationFile is one migration file of a source.
type migrationFile struct {
	file    string // file name, e.g. 20261121000100_billing_tables.sql
	version string // 20261121000100
	name    string // billing_tables
}

// parseFileName splits a migration file name into version and name.
func parseFileName(file string) (migrationFile, error) {
	m := fileName.FindStringSubmatch(file)
	if m == nil {
		return migrationFile{}, fmt.Errorf("migrate: %q is not named YYYYMMDDHHMMSS_name.sql", file)
	}
	return migrationFile{file: file, version: m[1], name: m[2]}, nil
}

// files lists the source's migration files (*.sql at its top level) in
// version order, rejecting badly named files and repeated versions.
func (s source) files() ([]migrationFile, error) {
	names, err := fs.Glob(s.fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: list migration files: %w", err)
	}
	if len(names) == 0 {
		return nil, errNoFiles
	}
	files := make([]migrationFile, 0, len(names))
	seen := make(map[string]string, len(names))
	for _, n := range names {
		f, err := parseFileName(n)
		if err != nil {
			return nil, err
		}
		if other, ok := seen[f.version]; ok {
			return nil, fmt.Errorf("migrate: %s and %s have the same version %s", other, n, f.version)
		}
		seen[f.version] = n
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].version < files[j].version })
	return files, nil
}
