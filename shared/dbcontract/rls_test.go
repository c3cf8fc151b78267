package dbcontract_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestUsersReadOnlyTheirOwnRows(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		query string
	}{
		{"profiles", `select count(*) from public.profiles where id = $1`},
		{"subscriptions", `select count(*) from public.subscriptions where user_id = $1`},
		{"usage_limits", `select count(*) from public.usage_limits where user_id = $1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.db.AsUser(t, ctx, f.a, func(tx pgx.Tx) error {
				own, err := count(ctx, tx, tc.query, f.a)
				if err != nil {
					return err
				}
				other, err := count(ctx, tx, tc.query, f.b)
				if err != nil {
					return err
				}
				all, err := count(ctx, tx, "select count(*) from public."+tc.name)
				if err != nil {
					return err
				}
				if own != 1 || other != 0 || all != 1 {
					t.Errorf("own = %d, other user's = %d, all = %d; want 1, 0, 1", own, other, all)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUsersCannotWriteBillingColumns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		column string
		value  any
	}{
		{"stripe_customer_id", "cus_stolen"},
		{"active_plan", "premium"},
		{"active_status", "past_due"},
		{"active_subscription_id", "sub_B"},
		{"subscription_current_period_end", "2099-01-01T00:00:00Z"},
		{"cancel_at_period_end", true},
		{"billing_updated_at", "2099-01-01T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run("update "+tc.column, func(t *testing.T) {
			err := f.db.AsUser(t, ctx, f.a, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, "update public.profiles set "+tc.column+" = $2 where id = $1", f.a, tc.value)
				return err
			})
			wantState(t, err, insufficientPrivilege)
		})
		t.Run("update "+tc.column+" as anon", func(t *testing.T) {
			// Denied, or no row visible to update.
			err := f.db.AsAnon(t, ctx, func(tx pgx.Tx) error {
				tag, err := tx.Exec(ctx, "update public.profiles set "+tc.column+" = $2 where id = $1", f.a, tc.value)
				if err == nil && tag.RowsAffected() != 0 {
					t.Errorf("anon updated %d rows", tag.RowsAffected())
				}
				return err
			})
			if err != nil {
				wantState(t, err, insufficientPrivilege)
			}
		})
	}

	t.Run("insert a profile", func(t *testing.T) {
		err := f.db.AsUser(t, ctx, f.a, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `insert into public.profiles (id, active_plan) values ($1, 'premium')`, f.a)
			return err
		})
		wantState(t, err, insufficientPrivilege)
	})

	t.Run("unchanged billing columns pass", func(t *testing.T) {
		err := f.db.AsUser(t, ctx, f.a, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `update public.profiles set updated_at = now(),
				active_plan = active_plan, cancel_at_period_end = cancel_at_period_end where id = $1`, f.a)
			if err == nil && tag.RowsAffected() != 1 {
				t.Errorf("updated %d rows, want 1", tag.RowsAffected())
			}
			return err
		})
		if err != nil {
			t.Fatalf("updating a non-billing column: %v", err)
		}
	})

	t.Run("another user's profile is not updated", func(t *testing.T) {
		err := f.db.AsUser(t, ctx, f.a, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `update public.profiles set updated_at = now() where id = $1`, f.b)
			if err == nil && tag.RowsAffected() != 0 {
				t.Errorf("updated %d of another user's rows", tag.RowsAffected())
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("service_role writes billing columns", func(t *testing.T) {
		err := f.db.AsServiceRole(t, ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `update public.profiles set active_plan = 'premium', cancel_at_period_end = true where id = $1`, f.a)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestServerOnlyTables(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name string
		sql  string
	}{
		{"read stripe_events", `select count(*) from public.stripe_events`},
		{"read email_outbox", `select count(*) from public.email_outbox`},
		{"read auth.users", `select count(*) from auth.users`},
		{"insert subscription", `insert into public.subscriptions (id, user_id, customer_id, status, state_at)
			values ('sub_new', $1, 'cus_A', 'active', now())`},
		{"update own subscription", `update public.subscriptions set status = 'active', plan = 'premium' where user_id = $1`},
		{"delete own subscription", `delete from public.subscriptions where user_id = $1`},
		{"insert usage row", `insert into public.usage_limits (user_id, counter, limit_value) values ($1, 'other', null)`},
		{"update own usage row", `update public.usage_limits set used = 0, limit_value = null where user_id = $1`},
		{"delete own usage row", `delete from public.usage_limits where user_id = $1`},
		{"write stripe_events", `insert into public.stripe_events (id, type) values ('evt_x', 'x')`},
		{"write email_outbox", `insert into public.email_outbox (event_id, kind, user_id) values ('evt_x', 'x', $1)`},
		{"delete own profile", `delete from public.profiles where id = $1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.db.AsUser(t, ctx, f.a, func(tx pgx.Tx) error {
				args := []any{}
				if strings.Contains(tc.sql, "$1") {
					args = append(args, f.a)
				}
				_, err := tx.Exec(ctx, tc.sql, args...)
				return err
			})
			if tc.name == "delete own profile" {
				// No policy allows it: either no privilege (42501) or no row.
				if err != nil {
					wantState(t, err, insufficientPrivilege)
				}
				var n int
				if err := f.db.Pool.QueryRow(ctx, `select count(*) from public.profiles where id = $1`, f.a).Scan(&n); err != nil || n != 1 {
					t.Errorf("profile count = %d, %v after a user's delete; want 1", n, err)
				}
				return
			}
			wantState(t, err, insufficientPrivilege)
		})
	}
}

func TestAnonReadsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, table := range []string{
		"public.profiles", "public.subscriptions", "public.stripe_events",
		"public.usage_limits", "public.email_outbox", "auth.users",
	} {
		t.Run(table, func(t *testing.T) {
			var n int
			err := f.db.AsAnon(t, ctx, func(tx pgx.Tx) error {
				var err error
				n, err = count(ctx, tx, "select count(*) from "+table)
				return err
			})
			// Denied outright, or allowed by privileges but no row visible.
			if err != nil {
				wantState(t, err, insufficientPrivilege)
			} else if n != 0 {
				t.Errorf("anon sees %d rows of %s", n, table)
			}
		})
	}
}

func TestServiceRoleReadsAndWritesEverything(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		table string
		want  int
	}{
		{"profiles", 2}, {"subscriptions", 2}, {"stripe_events", 1}, {"usage_limits", 2}, {"email_outbox", 2},
	}
	for _, tc := range tests {
		t.Run(tc.table, func(t *testing.T) {
			err := f.db.AsServiceRole(t, ctx, func(tx pgx.Tx) error {
				n, err := count(ctx, tx, "select count(*) from public."+tc.table)
				if err == nil && n != tc.want {
					t.Errorf("service_role sees %d rows, want %d", n, tc.want)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("insert outbox email", func(t *testing.T) {
		err := f.db.AsServiceRole(t, ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `insert into public.email_outbox (event_id, kind, user_id, template_data)
				values ('evt_2', 'subscription_canceled', $1, '{"plan":"standard"}')`, f.a)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("outbox sends one email per event and kind", func(t *testing.T) {
		err := f.db.AsServiceRole(t, ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `insert into public.email_outbox (event_id, kind, user_id)
				values ('evt_sub_A', 'subscription_started', $1)`, f.a)
			return err
		})
		wantState(t, err, "23505")
	})
}
