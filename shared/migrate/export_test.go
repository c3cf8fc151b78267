package migrate

import (
	"context"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
)

// ApplyFS is Apply with migration files from fsys and the embedded
// bootstrap, for tests with files of their own.
func ApplyFS(ctx context.Context, conn *pgx.Conn, log *slog.Logger, fsys fs.FS) ([]string, error) {
	return apply(ctx, conn, log, source{bootstrap: embedded.bootstrap, fsys: fsys})
}

// PendingFS is Pending with migration files from fsys.
func PendingFS(ctx context.Context, conn *pgx.Conn, fsys fs.FS) ([]string, error) {
	return pending(ctx, conn, source{fsys: fsys})
}

// FileNames lists the migration files of fsys as apply sees them.
func FileNames(fsys fs.FS) ([]string, error) {
	files, err := source{fsys: fsys}.files()
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.file
	}
	return names, err
}
