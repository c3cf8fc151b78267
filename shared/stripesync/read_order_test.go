package stripesync_test

// Stripe's API answers are stamped with a LOWER bound of when Stripe read
// the object (stripeclient.ReadTime: the Date header less the round trip,
// rounded down) and apply only over an older stored state. Each test below
// models a real timeline (T is a whole second; both clocks agree) and
// asserts the state Stripe holds at the end.

import (
	"context"
	"net/http"
	"testing"
	"time"

	"billing/internal/testdb"
	"billing/shared/access"
	"billing/shared/stripeclient"
	"billing/shared/stripesync"
)

// applyEvent delivers one subscription event the way the webhook does
// first (Resolve with event.created, then Apply) and returns the answer.
func applyEvent(t *testing.T, s *stripesync.Syncer, id, typ string, raw []byte, created time.Time) stripesync.ApplyResult {
	t.Helper()
	ev := stripesync.Event{ID: id, Type: typ, Created: created, Object: raw}
	st, err := s.Resolve(raw, created, stripesync.SourceEvent)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Apply(context.Background(), &ev, nil, s.SubscriptionEffects(st))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func storedStatus(t *testing.T, db *testdb.DB, id string) (status string, cancel bool) {
	t.Helper()
	if err := db.Pool.QueryRow(context.Background(),
		`select status, cancel_at_period_end from public.subscriptions where id = $1`, id).Scan(&status, &cancel); err != nil {
		t.Fatal(err)
	}
	return status, cancel
}

func subscribedNow(t *testing.T, s *stripesync.Syncer, user string) access.Result {
	t.Helper()
	st, err := s.Store.UserState(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return access.Compute(st.AccessSubscriptions(), s.Catalog, time.Now())
}

// readAt is the stamp of an answer whose request left at sent, that
// arrived at received, and whose Date header is date.
func readAt(date, sent, received time.Time) time.Time {
	return stripeclient.ReadTime(http.Header{"Date": {date.UTC().Format(http.TimeFormat)}}, sent, received)
}

// Timeline:
//
//	T+0.35  our GET / list / cancel request leaves
//	T+0.40  Stripe reads sub (active) for the answer
//	T+0.60  the subscription is canceled in Stripe -> evt_del, created T
//	T+0.90  the webhook applies evt_del (state_at T)
//	T+0.95 / T+1.05  the answer arrives with "Date: T" / "Date: T+1"
//
// The answer's stamp is at most T, not later than the stored delete: it
// must not undo it. A read that starts after the delete still applies.
func TestReadBeforeAConcurrentChangeNeverOverwritesIt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		date     time.Duration // Date header - T
		received time.Duration // arrival - T
	}{{"date_same_second", 0, 950 * time.Millisecond}, {"date_next_second", time.Second, 1050 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			db := testdb.New(t)
			s := syncer(t, db)
			ctx := context.Background()
			user := db.CreateUser(t, "r1@example.com")
			db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_r1' where id = $1`, user)
			end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
			T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)

			active := subJSON("sub_r1", "cus_r1", "active", "price_std_test", user, end, false)
			applyEvent(t, s, "evt_r1_created", "customer.subscription.created", active, T.Add(-time.Hour))

			canceled := subJSON("sub_r1", "cus_r1", "canceled", "price_std_test", user, end, false)
			if res := applyEvent(t, s, "evt_r1_deleted", "customer.subscription.deleted", canceled, T); res.Subscription != "applied" {
				t.Fatalf("setup: delete = %+v", res)
			}

			// Stripe's answer of the earlier read (reconcile list/get,
			// success-page sync, cancel/resume answer).
			at := readAt(T.Add(tc.date), T.Add(350*time.Millisecond), T.Add(tc.received))
			res, err := s.ApplySubscription(ctx, active, at, stripesync.SourceAPI)
			if err != nil {
				t.Fatal(err)
			}
			status, _ := storedStatus(t, db, "sub_r1")
			if acc := subscribedNow(t, s, user); status != "canceled" || acc.Subscribed || res.Subscription != "stale" {
				t.Fatalf("older read (stamped %s, Date %s) applied over the newer delete event: result %q, stored status %q, subscribed %v (Stripe: canceled)",
					at.Format(time.TimeOnly), T.Add(tc.date).Format(time.TimeOnly), res.Subscription, status, acc.Subscribed)
			}

			// A read sent after the delete (T+1.2, Date T+2) is later.
			at = readAt(T.Add(2*time.Second), T.Add(1200*time.Millisecond), T.Add(2100*time.Millisecond))
			if res, err := s.ApplySubscription(ctx, canceled, at, stripesync.SourceAPI); err != nil || res.Subscription != "applied" {
				t.Fatalf("a read after the delete (stamped %s): %+v, %v", at.Format(time.TimeOnly), res, err)
			}
		})
	}
}

// Timeline:
//
//	T+0.88  the webhook's tie fetch (or a cancel answer / reconcile read)
//	        leaves; T+0.90 Stripe reads sub: active, no cancel scheduled
//	T+0.95  the user schedules a cancel in the portal -> evt_upd, created T
//	T+1.03  the answer arrives with "Date: T+1": stamped T
//	later   evt_upd (created T) arrives: the same second as the stored
//	        state, so it is not "stale" (and not recorded): Stripe is asked.
//	        A fetch in the same second is not later either (nothing
//	        recorded); one a second later applies the cancel.
func TestEventInTheSecondOfAReadIsFetchedNotStale(t *testing.T) {
	db := testdb.New(t)
	s := syncer(t, db)
	ctx := context.Background()
	user := db.CreateUser(t, "r2@example.com")
	db.MustExec(t, `update public.profiles set stripe_customer_id = 'cus_r2' where id = $1`, user)
	end := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	T := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)

	active := subJSON("sub_r2", "cus_r2", "active", "price_std_test", user, end, false)
	at := readAt(T.Add(time.Second), T.Add(880*time.Millisecond), T.Add(1030*time.Millisecond))
	if res, err := s.ApplySubscription(ctx, active, at, stripesync.SourceFetch); err != nil || res.Subscription != "applied" {
		t.Fatalf("first read: %+v, %v", res, err)
	}
	scheduled := subJSON("sub_r2", "cus_r2", "active", "price_std_test", user, end, true)
	recorded := func() int64 {
		var n int64
		if err := db.Pool.QueryRow(ctx, `select count(*) from public.stripe_events where id = 'evt_r2_upd'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	res := applyEvent(t, s, "evt_r2_upd", "customer.subscription.updated", scheduled, T)
	if res.NeedsFetch != "sub_r2" || res.StateAt == nil || !res.StateAt.Equal(T) || recorded() != 0 {
		t.Fatalf("the event in the read's second = %+v, recorded %d; want needs_fetch at %s and nothing recorded", res, recorded(), T)
	}

	// The webhook fetches: Stripe has the cancel now.
	ev := stripesync.Event{ID: "evt_r2_upd", Type: "customer.subscription.updated", Created: T, Object: scheduled}
	fetch := func(at time.Time) stripesync.ApplyResult {
		st, err := s.Resolve(scheduled, at, stripesync.SourceFetch)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Apply(ctx, &ev, nil, s.SubscriptionEffects(st))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// At T+1.05 (Date T+1): stamped T, the stored second: not applied,
	// nothing recorded.
	at = readAt(T.Add(time.Second), T.Add(1050*time.Millisecond), T.Add(1100*time.Millisecond))
	if res := fetch(at); res.NeedsFetch != "sub_r2" || recorded() != 0 {
		t.Fatalf("a fetch stamped %s over a state of %s = %+v, recorded %d", at.Format(time.TimeOnly), T.Format(time.TimeOnly), res, recorded())
	}
	if _, cancel := storedStatus(t, db, "sub_r2"); cancel {
		t.Fatal("a fetch not later than the stored state applied")
	}
	// Two seconds later (Date T+3): stamped T+2, applied and recorded.
	at = readAt(T.Add(3*time.Second), T.Add(3050*time.Millisecond), T.Add(3100*time.Millisecond))
	res = fetch(at)

	var evStatus string
	if err := db.Pool.QueryRow(ctx, `select status from public.stripe_events where id = 'evt_r2_upd'`).Scan(&evStatus); err != nil {
		t.Fatal(err)
	}
	_, cancel := storedStatus(t, db, "sub_r2")
	if !cancel || res.Subscription != "applied" || evStatus != "processed" {
		t.Fatalf("newer event judged %q and recorded %q; stored cancel_at_period_end=%v while Stripe has true",
			res.Subscription, evStatus, cancel)
	}
}
