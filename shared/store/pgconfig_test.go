package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"billing/shared/store"
)

// TestOpenPGConfig checks the pool's settings without connecting (the pool
// connects at its first call): the simple protocol, and no statement or
// description caches for it, unless the URL asks otherwise.
func TestOpenPGConfig(t *testing.T) {
	tests := []struct {
		name, url          string
		simple             bool
		statements, descrs int
	}{
		{"defaults", "postgres://u:p@127.0.0.1:1/db", true, 0, 0},
		{"cache size asked for", "postgres://u:p@127.0.0.1:1/db?statement_cache_capacity=8", true, 8, 0},
		{"another mode asked for", "postgres://u:p@127.0.0.1:1/db?default_query_exec_mode=cache_statement", false, 512, 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pg, err := store.OpenPG(context.Background(), tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			c := pg.Pool.Config().ConnConfig
			if got := c.DefaultQueryExecMode == pgx.QueryExecModeSimpleProtocol; got != tt.simple {
				t.Errorf("mode = %v, want simple protocol %v", c.DefaultQueryExecMode, tt.simple)
			}
			if c.StatementCacheCapacity != tt.statements || c.DescriptionCacheCapacity != tt.descrs {
				t.Errorf("caches = %d statements, %d descriptions; want %d, %d",
					c.StatementCacheCapacity, c.DescriptionCacheCapacity, tt.statements, tt.descrs)
			}
		})
	}
}
