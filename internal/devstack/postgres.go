// Package devstack starts the local stand-ins the billing functions need in
// development and tests: a throwaway PostgreSQL from the machine's Debian
// binaries and stripe-mock, and stops them again.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a PostgreSQL server this process started.
type Postgres struct {
	BinDir  string
	DataDir string
	Port    int
	log     io.Writer
	asUser  string // run commands as this user (when we are root)
}

// FindPostgresBin returns the folder with initdb and pg_ctl: the newest
// /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH), or PATH.
func FindPostgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries not found")
}

func pgVersion(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// EnsurePostgresBin finds the server binaries, installing Debian's
// postgresql package with apt-get when running as root and they are
// missing. Otherwise it says the one command to run.
func EnsurePostgresBin(ctx context.Context, log io.Writer) (string, error) {
	if d, err := FindPostgresBin(); err == nil {
		return d, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("PostgreSQL server binaries not found: run `sudo apt-get install -y postgresql` (or set DATABASE_URL)")
	}
	fmt.Fprintln(log, "devstack: installing postgresql with apt-get ...")
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{{"update", "-q"}, {"install", "-y", "-q", "--no-install-recommends", "postgresql"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("apt-get %s: %w", strings.Join(args, " "), err)
		}
	}
	return FindPostgresBin()
}

// FreePort asks the kernel for an unused TCP port on 127.0.0.1.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// StartPostgres initializes dataDir when empty and starts a server on port
// (0 picks a free one), listening on 127.0.0.1 with its socket in dataDir.
// As root it runs initdb and the server as the postgres user, since initdb
// refuses root. fast turns off durability (fsync) for tests.
func StartPostgres(ctx context.Context, dataDir string, port int, fast bool, log io.Writer) (*Postgres, error) {
	bin, err := EnsurePostgresBin(ctx, log)
	if err != nil {
		return nil, err
	}
	if dataDir, err = filepath.Abs(dataDir); err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	p := &Postgres{BinDir: bin, DataDir: dataDir, Port: port, log: log}
	if os.Geteuid() == 0 {
		p.asUser = "postgres"
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, errors.New("running as root, but there is no postgres user to run the server as")
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	if p.asUser != "" {
		if err := chownTo(dataDir, p.asUser); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		if err := p.run(ctx, "initdb", "-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
			return nil, fmt.Errorf("initdb: %w", err)
		}
	}
	if pid := runningPostmaster(dataDir); pid != 0 {
		// A live server on this folder belongs to someone else (another
		// `make dev`): never stop it. A postmaster.pid of a dead process
		// (a crash) is left to pg_ctl start, which replaces it.
		return nil, fmt.Errorf("a PostgreSQL server (pid %d, %s) is already running on %s: is another `make dev` running? Stop it first, or set DATABASE_URL",
			pid, processName(strconv.Itoa(pid)), dataDir)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", port, dataDir)
	if fast {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	logFile := filepath.Join(dataDir, "server.log")
	if err := p.run(ctx, "pg_ctl", "-D", dataDir, "-o", opts, "-l", logFile, "-w", "-t", "60", "start"); err != nil {
		tail, _ := os.ReadFile(logFile)
		return nil, fmt.Errorf("pg_ctl start: %w\n%s", err, lastLines(string(tail), 15))
	}
	if err := p.waitReady(ctx); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// URL is the superuser connection URL of database db.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// CreateDatabase creates db unless it exists.
func (p *Postgres) CreateDatabase(ctx context.Context, db string) error {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "select exists(select 1 from pg_database where datname = $1)", db).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "create database "+pgx.Identifier{db}.Sanitize())
	return err
}

// Stop stops the server (fast shutdown).
func (p *Postgres) Stop() error {
	return p.run(context.Background(), "pg_ctl", "-D", p.DataDir, "-m", "fast", "-w", "stop")
}

func (p *Postgres) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, p.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *Postgres) run(ctx context.Context, tool string, args ...string) error {
	path := filepath.Join(p.BinDir, tool)
	var cmd *exec.Cmd
	if p.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", tool, err, lastLines(string(out), 10))
	}
	return nil
}

func chownTo(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
