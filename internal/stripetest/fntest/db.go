package fntest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"billing/internal/stripetest"
	"billing/internal/testdb"
	"billing/shared/function"
)

// DefaultPeriodEnd is the period end of a Sub that sets none: 20 days after
// the test binary started, the same instant for every Sub, so that the
// database's copy and Stripe's copy of one subscription never differ by the
// second boundary the clock happened to cross between them.
var DefaultPeriodEnd = time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)

// Sub is a subscriptions row for test setup. Zero fields get defaults:
// CustomerID "cus_"+ID, Status "active", Plan "standard" with its test
// price, a period from a month before PeriodEnd to PeriodEnd (default 20
// days from now), created 40 days ago. StateAt defaults to an hour ago, so
// that any state Stripe answers with now is newer.
type Sub struct {
	ID, UserID, CustomerID, Status, Plan, PriceID string
	PeriodEnd                                     time.Time
	CancelAtPeriodEnd                             bool
	CancelAt                                      *time.Time
	StateAt                                       time.Time
	// Livemode is the row's Stripe mode (the functions under test run in
	// test mode, so true is the other mode's row).
	Livemode bool
}

// InsertSubscription inserts s as the superuser and returns it with its
// defaults filled in.
func InsertSubscription(t testing.TB, db *testdb.DB, s Sub) Sub {
	t.Helper()
	if s.CustomerID == "" {
		s.CustomerID = "cus_" + s.ID
	}
	if s.Status == "" {
		s.Status = "active"
	}
	if s.Plan == "" {
		s.Plan = "standard"
	}
	if s.PriceID == "" {
		s.PriceID = map[string]string{"standard": StandardPrice, "premium": PremiumPrice}[s.Plan]
	}
	if s.PeriodEnd.IsZero() {
		s.PeriodEnd = DefaultPeriodEnd
	}
	if s.StateAt.IsZero() {
		s.StateAt = time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	}
	var user any
	if s.UserID != "" {
		user = s.UserID
	}
	db.MustExec(t, `insert into public.subscriptions (id, user_id, customer_id, status, price_id, plan,
		current_period_start, current_period_end, cancel_at_period_end, cancel_at, stripe_created, state_at, livemode)
		values ($1, $2, $3, $4, $5, $6, $7::timestamptz - interval '1 month', $7, $8, $9,
		        now() - interval '40 days', $10, $11)`,
		s.ID, user, s.CustomerID, s.Status, s.PriceID, s.Plan, s.PeriodEnd, s.CancelAtPeriodEnd, s.CancelAt, s.StateAt, s.Livemode)
	return s
}

// LinkCustomer sets the user's profiles.stripe_customer_id.
func LinkCustomer(t testing.TB, db *testdb.DB, userID, customerID string) {
	t.Helper()
	db.MustExec(t, `update public.profiles set stripe_customer_id = $2 where id = $1`, userID, customerID)
}

// CustomerOf reads the user's profiles.stripe_customer_id ("" when null).
func CustomerOf(t testing.TB, db *testdb.DB, userID string) string {
	t.Helper()
	var c *string
	if err := db.Pool.QueryRow(context.Background(),
		`select stripe_customer_id from public.profiles where id = $1`, userID).Scan(&c); err != nil {
		t.Fatalf("fntest: read profile %s: %v", userID, err)
	}
	if c == nil {
		return ""
	}
	return *c
}

// SubState is what tests read back of a subscriptions row.
type SubState struct {
	Status               string
	CancelAtPeriodEnd    bool
	CancelAt             *time.Time
	CurrentPeriodEnd     *time.Time
	CancellationFeedback *string
	CancellationComment  *string
	UserID               *string
}

// ReadSubscription reads the row id.
func ReadSubscription(t testing.TB, db *testdb.DB, id string) SubState {
	t.Helper()
	var s SubState
	err := db.Pool.QueryRow(context.Background(), `select status, cancel_at_period_end, cancel_at,
		current_period_end, cancellation_feedback, cancellation_comment, user_id::text
		from public.subscriptions where id = $1`, id).Scan(&s.Status, &s.CancelAtPeriodEnd, &s.CancelAt,
		&s.CurrentPeriodEnd, &s.CancellationFeedback, &s.CancellationComment, &s.UserID)
	if err != nil {
		t.Fatalf("fntest: read subscription %s: %v", id, err)
	}
	return s
}

// MirrorSubscriptions makes the proxy answer reads and updates of the
// subscriptions in subs (by ID) with their state, changed as Stripe would
// by the update's cancel_at_period_end and cancel_at, instead of
// stripe-mock's fixture (whose price, customer and 2009 periods would not
// fit the test's database). The map is read at each request; guard it with
// mu when a test changes it while calls run.
func (e *Env) MirrorSubscriptions(mu *sync.Mutex, subs map[string]Sub) {
	e.Proxy.Rewrite("", "/v1/subscriptions/", func(req stripetest.Request, body map[string]any) {
		id := strings.TrimPrefix(req.Path, "/v1/subscriptions/")
		mu.Lock()
		s, ok := subs[id]
		mu.Unlock()
		if !ok {
			return
		}
		cancelAt := s.CancelAt
		if req.Form.Has("cancel_at") {
			cancelAt = nil
		}
		stripetest.SetSubscription(req, body, stripetest.Subscription{
			ID: s.ID, CustomerID: s.CustomerID, Status: s.Status, PriceID: s.PriceID, UserID: s.UserID,
			CurrentPeriodStart: s.PeriodEnd.AddDate(0, -1, 0), CurrentPeriodEnd: s.PeriodEnd,
			CancelAt: cancelAt, Created: time.Now().Add(-40 * 24 * time.Hour),
		})
		switch req.Form.Get("cancel_at_period_end") {
		case "true":
			body["cancel_at_period_end"] = true
		case "false":
			body["cancel_at_period_end"] = false
		default:
			body["cancel_at_period_end"] = s.CancelAtPeriodEnd
		}
	})
}

// Subscribers is a running function whose test users get subscriptions
// through Subscribe; the proxy answers Stripe's reads and updates of those
// subscriptions with their state (MirrorSubscriptions).
type Subscribers struct {
	*Env

	mu   sync.Mutex
	subs map[string]Sub
	// metadata is what RememberUpdates keeps of each subscription's metadata.
	metadata map[string]map[string]string
}

// StartSubscribers starts spec like Start and mirrors the subscriptions
// Subscribe adds.
func StartSubscribers(t testing.TB, spec function.Spec, opt Options) *Subscribers {
	t.Helper()
	s := &Subscribers{Env: Start(t, spec, opt), subs: map[string]Sub{}}
	s.MirrorTo(s.Env)
	return s
}

// MirrorTo makes e, another function on the same database, answer Stripe's
// reads and updates of the subscriptions Subscribe adds too.
func (s *Subscribers) MirrorTo(e *Env) { e.MirrorSubscriptions(&s.mu, s.subs) }

// Subscribe creates a user and gives it the subscription sub, with ID
// "sub_"+name and customer "cus_"+name linked to the user's profile; a sub
// without a Status gives the user none. It returns the user's ID and a
// token.
func (s *Subscribers) Subscribe(t testing.TB, name string, sub Sub) (userID, token string) {
	t.Helper()
	user := s.DB.CreateUser(t, "")
	if sub.Status != "" {
		sub.ID, sub.UserID, sub.CustomerID = "sub_"+name, user, "cus_"+name
		sub = InsertSubscription(t, s.DB, sub)
		LinkCustomer(t, s.DB, user, sub.CustomerID)
		s.mu.Lock()
		s.subs[sub.ID] = sub
		s.mu.Unlock()
	}
	return user, s.Token(t, user, "")
}

// Subscription returns the subscription Subscribe added with the ID id.
func (s *Subscribers) Subscription(id string) Sub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs[id]
}

// Update changes what Stripe holds of the subscription id (what later
// reads answer), as a change made in Stripe would; the database row is
// left as it is.
func (s *Subscribers) Update(id string, change func(*Sub)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subs[id]
	change(&sub)
	s.subs[id] = sub
}

// ListStoredSubscriptions makes the proxy answer Stripe's list of a
// customer's subscriptions (GET /v1/subscriptions?customer=...) with the
// subscriptions the database holds for that customer that are not canceled
// or expired, as Stripe lists them (stripe-mock answers with a fixture
// subscription of another customer): what Stripe holds once every webhook
// event has arrived. A test that needs Stripe ahead of the database
// rewrites the list after this.
func (e *Env) ListStoredSubscriptions(t testing.TB) {
	e.Proxy.Rewrite(http.MethodGet, "/v1/subscriptions", func(req stripetest.Request, body map[string]any) {
		if req.Path != "/v1/subscriptions" {
			return
		}
		data, _ := body["data"].([]any)
		var template []byte
		if len(data) > 0 {
			template, _ = json.Marshal(data[0])
		}
		rows, err := e.DB.Pool.Query(context.Background(), `select id, status, coalesce(price_id, '')
			from public.subscriptions
			where customer_id = $1 and status not in ('canceled', 'incomplete_expired')
			order by stripe_created desc nulls last, id`, req.Form.Get("customer"))
		if err != nil {
			t.Errorf("fntest: stored subscriptions: %v", err)
			return
		}
		defer rows.Close()
		out := []any{}
		for rows.Next() {
			var id, status, price string
			if err := rows.Scan(&id, &status, &price); err != nil {
				t.Errorf("fntest: stored subscriptions: %v", err)
				return
			}
			var obj map[string]any
			if err := json.Unmarshal(template, &obj); err != nil {
				t.Errorf("fntest: stripe-mock listed no subscription to copy: %v", err)
				return
			}
			stripetest.SetSubscription(req, obj, stripetest.Subscription{ID: id, CustomerID: req.Form.Get("customer"),
				Status: status, PriceID: price})
			out = append(out, obj)
		}
		body["data"], body["has_more"] = out, false
	})
}
