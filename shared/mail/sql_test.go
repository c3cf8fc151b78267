package mail_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"billing/internal/testdb"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// sqlJSON runs a query returning one jsonb value and decodes it.
func sqlJSON(t *testing.T, db *testdb.DB, out any, sql string, args ...any) {
	t.Helper()
	var raw []byte
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&raw); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
}

type claimed struct {
	ID       int64  `json:"id"`
	Email    string `json:"email"`
	Attempts int    `json:"attempts"`
	Kind     string `json:"kind"`
	UserID   string `json:"user_id"`
}

// TestClaimIsALease: a claimed row is hidden from other claims until its
// lease runs out (a crashed sender's rows come back), by ID or as due.
func TestClaimIsALease(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	user := db.CreateUser(t, "lease@example.com")
	id := insertRow(t, db, user, "welcome", "ja", `{"plan":"standard"}`)
	other := insertRow(t, db, user, "payment_failed", "ja", `{}`)
	db.MustExec(t, `update public.email_outbox set next_attempt_at = now() + interval '1 hour' where id = $1`, other)

	var got []claimed
	sqlJSON(t, db, &got, `select public.billing_outbox_claim(p_ids => null, p_limit => 10, p_lease_seconds => 300)`)
	if len(got) != 1 || got[0].ID != id || got[0].Email != "lease@example.com" || got[0].Attempts != 1 ||
		got[0].Kind != "welcome" || got[0].UserID != user {
		t.Fatalf("claim = %+v, want only the due row with its address", got)
	}
	if st := state(t, db, id); !near(st.NextIn, 5*time.Minute) || st.Status != "pending" {
		t.Errorf("claimed row = %+v, want pending with a 5 minute lease", st)
	}
	for _, c := range []struct {
		sql  string
		args []any
	}{
		{`select public.billing_outbox_claim(p_ids => null, p_limit => 10, p_lease_seconds => 300)`, nil},
		{`select public.billing_outbox_claim(p_ids => array[$1::bigint, $2::bigint], p_limit => 10, p_lease_seconds => 300)`,
			[]any{id, other}},
	} {
		var again []claimed
		sqlJSON(t, db, &again, c.sql, c.args...)
		if len(again) != 0 {
			t.Errorf("a leased or not yet due row was claimed again: %+v", again)
		}
	}
	makeDue(t, db, id) // the lease ran out: the sender crashed
	sqlJSON(t, db, &got, `select public.billing_outbox_claim(p_ids => '{`+strconv.FormatInt(id, 10)+`}', p_limit => 1, p_lease_seconds => 300)`)
	if len(got) != 1 || got[0].ID != id || got[0].Attempts != 2 {
		t.Errorf("claim after the lease = %+v, want the row again with attempts 2", got)
	}
	var empty []claimed
	sqlJSON(t, db, &empty, `select public.billing_outbox_claim(p_ids => '{}', p_limit => 10, p_lease_seconds => 300)`)
	if len(empty) != 0 {
		t.Errorf("an empty ID list claimed %+v", empty)
	}
}

type marked struct {
	Found    bool   `json:"found"`
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	Changed  bool   `json:"changed"`
}

// TestMarkBackoff: a failure goes back to pending after 1 minute * 2^(attempts-1),
// at most 6 hours, and gives up once attempts reach the maximum.
func TestMarkBackoff(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	user := db.CreateUser(t, "backoff@example.com")
	tests := []struct {
		attempts, max int
		wantStatus    string
		wantDelay     time.Duration
	}{
		{1, 8, "pending", time.Minute},
		{2, 8, "pending", 2 * time.Minute},
		{3, 8, "pending", 4 * time.Minute},
		{7, 8, "pending", 64 * time.Minute},
		{8, 8, "gave_up", 0},
		{9, 20, "pending", 256 * time.Minute},
		{10, 20, "pending", 6 * time.Hour},
		{19, 20, "pending", 6 * time.Hour},
		{20, 20, "gave_up", 0},
		{1, 1, "gave_up", 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("attempt %d of %d", tc.attempts, tc.max), func(t *testing.T) {
			id := insertRow(t, db, user, "welcome", "en", `{}`)
			db.MustExec(t, `update public.email_outbox set attempts = $2 where id = $1`, id, tc.attempts)
			var m marked
			sqlJSON(t, db, &m, `select public.billing_outbox_mark(p_id => $1, p_status => 'failed', p_error => 'HTTP 500', p_max_attempts => $2)`, id, tc.max)
			if !m.Found || !m.Changed || m.Status != tc.wantStatus || m.Attempts != tc.attempts {
				t.Errorf("mark = %+v", m)
			}
			st := state(t, db, id)
			if st.Status != tc.wantStatus || st.LastError != "HTTP 500" || st.Sent {
				t.Errorf("row = %+v", st)
			}
			if tc.wantStatus == "pending" && !near(st.NextIn, tc.wantDelay) {
				t.Errorf("next attempt in %v, want %v", st.NextIn, tc.wantDelay)
			}
		})
	}
}

func TestMarkDoneRowsAndBadStatus(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	user := db.CreateUser(t, "mark@example.com")
	id := insertRow(t, db, user, "welcome", "en", `{}`)
	var m marked
	sqlJSON(t, db, &m, `select public.billing_outbox_mark(p_id => $1, p_status => 'sent', p_error => null, p_max_attempts => 8)`, id)
	if m.Status != "sent" || !m.Changed {
		t.Fatalf("mark sent = %+v", m)
	}
	// A late outcome (a sender whose lease ran out) changes nothing.
	sqlJSON(t, db, &m, `select public.billing_outbox_mark(p_id => $1, p_status => 'failed', p_error => 'late', p_max_attempts => 8)`, id)
	if m.Status != "sent" || m.Changed {
		t.Errorf("mark on a sent row = %+v", m)
	}
	if st := state(t, db, id); st.Status != "sent" || st.LastError != "" {
		t.Errorf("row = %+v", st)
	}
	sqlJSON(t, db, &m, `select public.billing_outbox_mark(p_id => -1, p_status => 'sent', p_error => null, p_max_attempts => 8)`)
	if m.Found {
		t.Errorf("mark of a missing row = %+v", m)
	}
	for _, bad := range []string{"pending", "", "SENT"} {
		_, err := db.Pool.Exec(context.Background(), `select public.billing_outbox_mark(p_id => $1, p_status => $2, p_error => null, p_max_attempts => 8)`, id, bad)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "22023" {
			t.Errorf("status %q: err = %v, want 22023", bad, err)
		}
	}
}

func TestOutboxFunctionPrivileges(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	user := db.CreateUser(t, "priv@example.com")
	id := insertRow(t, db, user, "welcome", "en", `{}`)
	calls := map[string]string{
		"claim": `select public.billing_outbox_claim(p_ids => null, p_limit => 0, p_lease_seconds => 60)::text`,
		"mark":  `select public.billing_outbox_mark(p_id => -1, p_status => 'sent', p_error => null, p_max_attempts => 8)::text`,
	}
	roles := map[string]func(fn func(pgx.Tx) error) error{
		"anon":          func(fn func(pgx.Tx) error) error { return db.AsAnon(t, ctx, fn) },
		"authenticated": func(fn func(pgx.Tx) error) error { return db.AsUser(t, ctx, user, fn) },
		"service_role":  func(fn func(pgx.Tx) error) error { return db.AsServiceRole(t, ctx, fn) },
	}
	for role, as := range roles {
		for name, sql := range calls {
			t.Run(role+"/"+name, func(t *testing.T) {
				err := as(func(tx pgx.Tx) error {
					var s string
					return tx.QueryRow(ctx, sql).Scan(&s)
				})
				var pe *pgconn.PgError
				denied := errors.As(err, &pe) && pe.Code == "42501"
				if role == "service_role" && err != nil {
					t.Errorf("service_role cannot call %s: %v", name, err)
				}
				if role != "service_role" && !denied {
					t.Errorf("%s called %s: err = %v, want insufficient privilege", role, name, err)
				}
			})
		}
	}
	if st := state(t, db, id); st.Attempts != 0 {
		t.Errorf("row touched: %+v", st)
	}
	var definer int
	if err := db.Pool.QueryRow(ctx, `
		select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
		where n.nspname = 'public' and p.proname in ('billing_outbox_claim', 'billing_outbox_mark')
		  and p.prosecdef and array_to_string(p.proconfig, ',') = 'search_path=public, pg_temp'`).Scan(&definer); err != nil {
		t.Fatal(err)
	}
	if definer != 2 {
		t.Errorf("security definer functions with a fixed search_path = %d, want 2", definer)
	}
}
