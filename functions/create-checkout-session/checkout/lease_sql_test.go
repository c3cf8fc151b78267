package checkout_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"billing/internal/stripetest/fntest"
	"billing/internal/testdb"
	"billing/shared/store"
)

// lockAnswer is billing_checkout_lock's answer.
type lockAnswer struct {
	Acquired             bool    `json:"acquired"`
	Token                *string `json:"token"`
	UnknownUser          bool    `json:"unknown_user"`
	StripeCustomerID     *string `json:"stripe_customer_id"`
	BlockingSubscription *string `json:"blocking_subscription"`
}

func openStore(t *testing.T, db *testdb.DB) *store.Store {
	t.Helper()
	pg, err := store.OpenPG(context.Background(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	return store.New(pg)
}

func lock(t *testing.T, s *store.Store, user string, ttl int) lockAnswer {
	t.Helper()
	var a lockAnswer
	if err := s.Call(context.Background(), "billing_checkout_lock",
		[]store.Arg{{Name: "p_user_id", Value: user}, {Name: "p_ttl_seconds", Value: ttl}}, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func unlock(t *testing.T, s *store.Store, user, token string) bool {
	t.Helper()
	var a struct{ Released bool }
	if err := s.Call(context.Background(), "billing_checkout_unlock",
		[]store.Arg{{Name: "p_user_id", Value: user}, {Name: "p_token", Value: token}}, &a); err != nil {
		t.Fatal(err)
	}
	return a.Released
}

func TestCheckoutLease(t *testing.T) {
	db := testdb.New(t)
	s := openStore(t, db)
	user := db.CreateUser(t, "")
	other := db.CreateUser(t, "")

	first := lock(t, s, user, 30)
	if !first.Acquired || first.Token == nil {
		t.Fatalf("first lock: %+v", first)
	}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"held: a second caller does not get it", func(t *testing.T) {
			if a := lock(t, s, user, 30); a.Acquired || a.Token != nil {
				t.Errorf("second lock: %+v", a)
			}
		}},
		{"another user's lease is independent", func(t *testing.T) {
			if a := lock(t, s, other, 30); !a.Acquired {
				t.Errorf("other user's lock: %+v", a)
			}
		}},
		{"a wrong token does not release it", func(t *testing.T) {
			if unlock(t, s, user, "00000000-0000-4000-8000-000000000000") {
				t.Error("released with a wrong token")
			}
			if a := lock(t, s, user, 30); a.Acquired {
				t.Error("lease free after a wrong unlock")
			}
		}},
		{"an expired lease is taken over", func(t *testing.T) {
			db.MustExec(t, `update public.billing_checkout_locks set expires_at = now() - interval '1 second' where user_id = $1`, user)
			a := lock(t, s, user, 30)
			if !a.Acquired || *a.Token == *first.Token {
				t.Fatalf("lock after expiry: %+v", a)
			}
			if unlock(t, s, user, *first.Token) {
				t.Error("the expired holder released the new holder's lease")
			}
			if !unlock(t, s, user, *a.Token) {
				t.Error("the holder could not release")
			}
		}},
		{"unknown user", func(t *testing.T) {
			if a := lock(t, s, "00000000-0000-4000-8000-000000000001", 30); !a.UnknownUser || a.Acquired {
				t.Errorf("lock for an unknown user: %+v", a)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}

	t.Run("concurrent callers: exactly one acquires", func(t *testing.T) {
		u := db.CreateUser(t, "")
		var mu sync.Mutex
		acquired := 0
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if lock(t, s, u, 30).Acquired {
					mu.Lock()
					acquired++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if acquired != 1 {
			t.Errorf("%d of 20 concurrent callers acquired the lease, want 1", acquired)
		}
	})

	t.Run("answers the customer and the blocking subscription", func(t *testing.T) {
		u := db.CreateUser(t, "")
		fntest.LinkCustomer(t, db, u, "cus_leaseanswer")
		fntest.InsertSubscription(t, db, fntest.Sub{ID: "sub_leaseanswer", CustomerID: "cus_leaseanswer", Status: "trialing"})
		a := lock(t, s, u, 30)
		if a.StripeCustomerID == nil || *a.StripeCustomerID != "cus_leaseanswer" ||
			a.BlockingSubscription == nil || *a.BlockingSubscription != "sub_leaseanswer" {
			t.Errorf("answer %+v", a)
		}
	})
}

func TestCheckoutLinkCustomer(t *testing.T) {
	db := testdb.New(t)
	s := openStore(t, db)
	a, b := db.CreateUser(t, ""), db.CreateUser(t, "")
	link := func(user, customer string) (string, bool, error) {
		var out struct {
			StripeCustomerID string `json:"stripe_customer_id"`
			Linked           bool   `json:"linked"`
		}
		err := s.Call(context.Background(), "billing_checkout_link_customer",
			[]store.Arg{{Name: "p_user_id", Value: user}, {Name: "p_customer_id", Value: customer}}, &out)
		return out.StripeCustomerID, out.Linked, err
	}
	tests := []struct {
		name, user, customer string
		wantStored           string
		wantLinked           bool
		wantState            string
	}{
		{"first link is stored", a, "cus_a1", "cus_a1", true, ""},
		{"same link again", a, "cus_a1", "cus_a1", true, ""},
		{"never replaced", a, "cus_a2", "cus_a1", false, ""},
		{"another user's customer", b, "cus_a1", "", false, "23505"},
		{"not a customer ID", b, "a@example.com", "", false, "22023"},
		{"second user", b, "cus_b1", "cus_b1", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, linked, err := link(tt.user, tt.customer)
			if tt.wantState != "" {
				if got := store.ErrorCode(err); got != tt.wantState {
					t.Fatalf("error %v (%s), want SQLSTATE %s", err, got, tt.wantState)
				}
				return
			}
			if err != nil || stored != tt.wantStored || linked != tt.wantLinked {
				t.Fatalf("got %q %v %v, want %q %v", stored, linked, err, tt.wantStored, tt.wantLinked)
			}
		})
	}
	t.Run("a missing profile is created", func(t *testing.T) {
		u := db.CreateUser(t, "")
		db.MustExec(t, `delete from public.profiles where id = $1`, u)
		if stored, linked, err := link(u, "cus_noprofile"); err != nil || !linked || stored != "cus_noprofile" {
			t.Fatalf("got %q %v %v", stored, linked, err)
		}
	})
}

func TestCheckoutFunctionPrivileges(t *testing.T) {
	db := testdb.New(t)
	user := db.CreateUser(t, "")
	ctx := context.Background()
	calls := map[string]string{
		"lock":   `public.billing_checkout_lock(p_user_id => $1, p_ttl_seconds => 5)`,
		"unlock": `public.billing_checkout_unlock(p_user_id => $1, p_token => gen_random_uuid())`,
		"link":   `public.billing_checkout_link_customer(p_user_id => $1, p_customer_id => 'cus_priv')`,
	}
	for name, call := range calls {
		for role, allowed := range map[string]bool{"anon": false, "authenticated": false, "service_role": true} {
			t.Run(name+"/"+role, func(t *testing.T) {
				err := db.As(t, ctx, role, map[string]any{"role": role, "sub": user}, func(tx pgx.Tx) error {
					var raw []byte
					if err := tx.QueryRow(ctx, "select "+call, user).Scan(&raw); err != nil {
						return err
					}
					return json.Unmarshal(raw, new(map[string]any))
				})
				if allowed && err != nil {
					t.Errorf("%s cannot call %s: %v", role, name, err)
				}
				if !allowed && sqlState(err) != "42501" {
					t.Errorf("%s calling %s: %v, want permission denied", role, name, err)
				}
			})
		}
	}
	t.Run("clients cannot read the lease table", func(t *testing.T) {
		err := db.AsUser(t, ctx, user, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `select * from public.billing_checkout_locks`)
			return err
		})
		if sqlState(err) != "42501" {
			t.Errorf("authenticated reading billing_checkout_locks: %v", err)
		}
	})
}

// sqlState returns the SQLSTATE of a Postgres error, or "".
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestCheckoutFunctionsAreSecurityDefiner(t *testing.T) {
	db := testdb.New(t)
	rows, err := db.Pool.Query(context.Background(), `
		select p.proname, p.prosecdef, coalesce(array_to_string(p.proconfig, ','), '')
		from pg_proc p join pg_namespace n on n.oid = p.pronamespace
		where n.nspname = 'public' and p.proname like 'billing_checkout_%'`)
	if err != nil {
		t.Fatal(err)
	}
	type fn struct {
		Name    string
		Definer bool
		Config  string
	}
	fns, err := pgx.CollectRows(rows, pgx.RowToStructByPos[fn])
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 3 {
		t.Fatalf("found %v, want the lock, unlock and link functions", fns)
	}
	for _, f := range fns {
		if !f.Definer || f.Config != "search_path=public, pg_temp" {
			t.Errorf("%s: security definer %v, config %q", f.Name, f.Definer, f.Config)
		}
	}
}
