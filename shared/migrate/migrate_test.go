package migrate_test

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"billing/internal/testdb"
	"billing/migrations"
	"billing/shared/migrate"

	"github.com/jackc/pgx/v5"
)

// embeddedNames lists the embedded migration files in name order.
func embeddedNames(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v %v", names, err)
	}
	return names
}

// historyCount counts the rows of the migration history table.
func historyCount(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(),
		`select count(*) from supabase_migrations.schema_migrations`).Scan(&n); err != nil {
		t.Fatalf("count history: %v", err)
	}
	return n
}

// relationExists reports whether a table (schema-qualified) exists.
func relationExists(t *testing.T, conn *pgx.Conn, name string) bool {
	t.Helper()
	var ok bool
	if err := conn.QueryRow(context.Background(),
		`select to_regclass($1) is not null`, name).Scan(&ok); err != nil {
		t.Fatalf("to_regclass(%s): %v", name, err)
	}
	return ok
}

func TestApplyFreshDatabaseGetsEveryMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	conn := db.Conn(t)
	want := embeddedNames(t)

	pending, err := migrate.Pending(ctx, conn)
	if err != nil {
		t.Fatalf("Pending before: %v", err)
	}
	if !slices.Equal(pending, want) {
		t.Fatalf("Pending before = %v, want %v", pending, want)
	}

	applied, err := migrate.Apply(ctx, conn, nil)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !slices.Equal(applied, want) {
		t.Fatalf("Apply = %v, want %v", applied, want)
	}
	if n := historyCount(t, conn); n != len(want) {
		t.Errorf("history has %d rows, want %d", n, len(want))
	}

	for _, table := range []string{
		"auth.users", "public.profiles", "public.subscriptions", "public.stripe_events",
		"public.usage_limits", "public.email_outbox",
	} {
		t.Run(table, func(t *testing.T) {
			if !relationExists(t, conn, table) {
				t.Errorf("%s does not exist after Apply", table)
			}
		})
	}

	t.Run("history matches the Supabase CLI", func(t *testing.T) {
		var version, name string
		var statements []string
		err := conn.QueryRow(ctx, `select version, name, statements
			from supabase_migrations.schema_migrations order by version limit 1`).Scan(&version, &name, &statements)
		if err != nil {
			t.Fatal(err)
		}
		if want := want[0]; version+"_"+name+".sql" != want {
			t.Errorf("first record = %s_%s, want file %s", version, name, want)
		}
		if len(statements) != 1 || !strings.Contains(statements[0], "create table") {
			t.Errorf("statements = %.80q..., want the file's SQL", statements)
		}
	})

	pending, err = migrate.Pending(ctx, conn)
	if err != nil || len(pending) != 0 {
		t.Errorf("Pending after = %v, %v; want none", pending, err)
	}
}

func TestApplyTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t) // already migrated once
	conn := db.Conn(t)
	before := historyCount(t, conn)

	for i := range 2 {
		applied, err := migrate.Apply(ctx, conn, nil)
		if err != nil {
			t.Fatalf("Apply #%d: %v", i+2, err)
		}
		if len(applied) != 0 {
			t.Errorf("Apply #%d applied %v, want nothing", i+2, applied)
		}
	}
	if after := historyCount(t, conn); after != before {
		t.Errorf("history grew from %d to %d rows", before, after)
	}
}

// TestMigrationFilesAreIdempotent runs every file again by hand (as someone
// might with psql or the Supabase SQL editor), bootstrap included.
func TestMigrationFilesAreIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	conn := db.Conn(t)
	db.CreateUser(t, "idempotent@example.com")

	files := append([]string{"bootstrap/supabase.sql"}, embeddedNames(t)...)
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			body, err := fs.ReadFile(migrations.FS, name)
			if name == "bootstrap/supabase.sql" {
				body, err = []byte(migrations.Bootstrap), nil
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, string(body)); err != nil {
				t.Fatalf("running %s again: %v", name, err)
			}
		})
	}
	var profiles int
	if err := conn.QueryRow(ctx, `select count(*) from public.profiles`).Scan(&profiles); err != nil || profiles != 1 {
		t.Errorf("profiles = %d, %v; want the one user's profile, once", profiles, err)
	}
}

func TestFailingMigrationLeavesNoTrace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	conn := db.Conn(t)

	files := fstest.MapFS{
		"20000101000000_first.sql": {Data: []byte(`create table first_ok (id int);`)},
		"20000101000001_second.sql": {Data: []byte(`
			create table second_partial (id int);
			insert into second_partial values (1);
			select 1 / 0;`)},
		"20000101000002_third.sql": {Data: []byte(`create table third_never (id int);`)},
	}
	applied, err := migrate.ApplyFS(ctx, conn, nil, files)
	if err == nil || !strings.Contains(err.Error(), "20000101000001_second.sql") {
		t.Fatalf("Apply error = %v, want a failure naming the second file", err)
	}
	if want := []string{"20000101000000_first.sql"}; !slices.Equal(applied, want) {
		t.Errorf("applied = %v, want %v", applied, want)
	}

	for _, tc := range []struct {
		table string
		want  bool
	}{
		{"public.first_ok", true},
		{"public.second_partial", false},
		{"public.third_never", false},
	} {
		t.Run(tc.table, func(t *testing.T) {
			if got := relationExists(t, conn, tc.table); got != tc.want {
				t.Errorf("%s exists = %v, want %v", tc.table, got, tc.want)
			}
		})
	}
	pending, err := migrate.PendingFS(ctx, conn, files)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"20000101000001_second.sql", "20000101000002_third.sql"}; !slices.Equal(pending, want) {
		t.Errorf("pending = %v, want %v", pending, want)
	}

	// Fixed, the rest applies and the first file is not run again.
	files["20000101000001_second.sql"] = &fstest.MapFile{Data: []byte(`create table second_partial (id int);`)}
	applied, err = migrate.ApplyFS(ctx, conn, nil, files)
	if err != nil {
		t.Fatalf("Apply after fix: %v", err)
	}
	if want := []string{"20000101000001_second.sql", "20000101000002_third.sql"}; !slices.Equal(applied, want) {
		t.Errorf("applied after fix = %v, want %v", applied, want)
	}
}

func TestFileNames(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("select 1;")}
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []string
		wantErr string
	}{
		{
			name: "sorted by version",
			files: fstest.MapFS{
				"20260102000000_b.sql": file, "20260101000000_a.sql": file, "README.md": file,
				"bootstrap/x.sql": file,
			},
			want: []string{"20260101000000_a.sql", "20260102000000_b.sql"},
		},
		{name: "no version", files: fstest.MapFS{"init.sql": file}, wantErr: "YYYYMMDDHHMMSS_name.sql"},
		{name: "short version", files: fstest.MapFS{"2026_init.sql": file}, wantErr: "YYYYMMDDHHMMSS_name.sql"},
		{name: "no name", files: fstest.MapFS{"20260101000000.sql": file}, wantErr: "YYYYMMDDHHMMSS_name.sql"},
		{
			name:    "repeated version",
			files:   fstest.MapFS{"20260101000000_a.sql": file, "20260101000000_b.sql": file},
			wantErr: "same version",
		},
		{name: "empty", files: fstest.MapFS{}, wantErr: "no migration files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := migrate.FileNames(tc.files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("files = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEmbeddedMigrationsAreWellNamed checks the real folder without a database.
func TestEmbeddedMigrationsAreWellNamed(t *testing.T) {
	names, err := migrate.FileNames(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 4 {
		t.Errorf("only %d migration files: %v", len(names), names)
	}
	if migrations.Bootstrap == "" {
		t.Error("the bootstrap SQL is not embedded")
	}
}
