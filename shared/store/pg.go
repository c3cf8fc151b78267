package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PG calls the SQL functions over a pgx pool.
type PG struct {
	Pool *pgxpool.Pool
}

// OpenPG opens a pool for url. Unless the URL sets default_query_exec_mode,
// calls use the simple protocol: nothing is prepared on the server, so the
// pool works through Supabase's transaction pooler (Supavisor, PgBouncer)
// as well as directly, in one round trip, and arguments reach Postgres as
// untyped literals that the SQL function's parameter types resolve.
// The pool is opened lazily: the first call connects.
func OpenPG(ctx context.Context, url string) (*PG, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("store: DATABASE_URL cannot be parsed")
	}
	if !strings.Contains(url, "default_query_exec_mode") {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		// The simple protocol prepares and describes nothing, so pgx's
		// statement and description caches would stay empty; left at
		// their default of 512 entries each, every connection allocated
		// them (107 KB at each start, a third of the webhook's heap
		// before its first answer).
		if !strings.Contains(url, "statement_cache_capacity") {
			cfg.ConnConfig.StatementCacheCapacity = 0
		}
		if !strings.Contains(url, "description_cache_capacity") {
			cfg.ConnConfig.DescriptionCacheCapacity = 0
		}
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 4
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &PG{Pool: pool}, nil
}

// Close closes the pool.
func (p *PG) Close() { p.Pool.Close() }

// Call runs select public.fn(p_a => $1, ...) and decodes the jsonb result.
func (p *PG) Call(ctx context.Context, fn string, args []Arg, out any) error {
	if err := checkCall(fn, args); err != nil {
		return err
	}
	sql, vals := callSQL(fn, args)
	var raw []byte
	err := p.Pool.QueryRow(ctx, sql, vals...).Scan(&raw)
	if err != nil {
		return pgError(fn, err)
	}
	return decode(fn, raw, out)
}

// CallTx is Call inside an existing transaction (used by tests and by
// flows that must hold a lock across calls).
func CallTx(ctx context.Context, tx pgx.Tx, fn string, args []Arg, out any) error {
	if err := checkCall(fn, args); err != nil {
		return err
	}
	sql, vals := callSQL(fn, args)
	var raw []byte
	if err := tx.QueryRow(ctx, sql, vals...).Scan(&raw); err != nil {
		return pgError(fn, err)
	}
	return decode(fn, raw, out)
}

func callSQL(fn string, args []Arg) (string, []any) {
	var b strings.Builder
	b.WriteString("select public.")
	b.WriteString(fn)
	b.WriteString("(")
	vals := make([]any, len(args))
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s => $%d", a.Name, i+1)
		vals[i] = pgValue(a.Value)
	}
	b.WriteString(")::text")
	return b.String(), vals
}

func pgError(fn string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		e := &Error{Code: pe.Code, Message: pe.Message, Detail: pe.Detail, Hint: pe.Hint}
		if Retryable(pe.Code) {
			return fmt.Errorf("store: %s: %w: %w", fn, ErrUnavailable, e)
		}
		return fmt.Errorf("store: %s: %w", fn, e)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) ||
		strings.Contains(err.Error(), "failed to connect") {
		return fmt.Errorf("store: %s: %w: %v", fn, ErrUnavailable, err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("store: %s: %w", fn, err)
}

// pgValue passes JSON documents as text so that they resolve to jsonb.
func pgValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case json.RawMessage:
		return string(x)
	}
	return v
}
