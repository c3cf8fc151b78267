package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"billing/internal/localstripe"
	"billing/internal/stripetest"
	"billing/internal/stripetest/fntest"
	"billing/internal/testdb"
	"billing/shared/stripeclient"
)

// The last summary on stderr and the report on stdout of one reconcile run
// give the same counts, also when the run checks a stored subscription
// Stripe's list left out (after the last progress line).
func TestReconcileSummariesAgree(t *testing.T) {
	db := testdb.New(t)
	p := opsEnv(t, db)
	side := &stripeSubs{}
	side.serve(p)
	end := time.Now().Add(15 * 24 * time.Hour).UTC().Truncate(time.Second)
	listed := db.CreateUser(t, "listed@example.com")
	unlisted := db.CreateUser(t, "unlisted@example.com")
	fntest.LinkCustomer(t, db, listed, "cus_sub_listed")
	fntest.LinkCustomer(t, db, unlisted, "cus_sub_unlisted")
	fntest.InsertSubscription(t, db, fntest.Sub{ID: "sub_listed", UserID: listed, PeriodEnd: end})
	fntest.InsertSubscription(t, db, fntest.Sub{ID: "sub_unlisted", UserID: unlisted, PeriodEnd: end})
	side.set(sub("sub_listed", listed, "active", end))

	out, errOut, _ := run(t, reconcileRun)
	stdout := regexp.MustCompile(`checked (\d+) subscriptions, (\d+) differences`).FindStringSubmatch(out)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	stderr := regexp.MustCompile(`(\d+) subscriptions checked, (\d+) differences`).FindStringSubmatch(lines[len(lines)-1])
	if stdout == nil || stderr == nil {
		t.Fatalf("no summaries:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if stdout[1] != stderr[1] || stdout[2] != stderr[2] {
		t.Fatalf("stderr's last summary %q disagrees with stdout's %q", stderr[0], stdout[0])
	}
	if stdout[1] != "2" {
		t.Fatalf("checked %s subscriptions, want 2 (the listed and the unlisted one)", stdout[1])
	}
}

// `billing help` is an answer, not an error: exit 0; no command or an
// unknown one is a usage error: exit 2.
func TestHelpExitCodes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"help"}, 0}, {[]string{"-h"}, 0}, {[]string{"--help"}, 0},
		{nil, 2}, {[]string{"nope"}, 2}, {[]string{"token", "-h"}, 0},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var errOut strings.Builder
			if got := runMain(context.Background(), tt.args, &errOut); got != tt.want {
				t.Fatalf("exit %d, want %d\n%s", got, tt.want, errOut.String())
			}
			if len(tt.args) < 2 && !strings.Contains(errOut.String(), "usage") {
				t.Fatalf("no usage printed: %q", errOut.String())
			}
		})
	}
}

// Without a configured database, the operator commands say that the
// local stack needs -dev.
func TestOperatorCommandsSayDev(t *testing.T) {
	for _, k := range []string{"DATABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_URL"} {
		t.Setenv(k, "")
	}
	const user = "00000000-0000-4000-8000-000000000077"
	for name, cmd := range map[string]func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error{
		"status": statusRun, "reconcile": reconcileRun, "replay": replayRun,
	} {
		t.Run(name, func(t *testing.T) {
			args := map[string][]string{"status": {user}, "replay": {"-failed"}}[name]
			_, _, err := run(t, cmd, args...)
			if err == nil || !strings.Contains(err.Error(), "add -dev") {
				t.Fatalf("error %v does not mention -dev", err)
			}
		})
	}
}

// `billing token -user <new uuid>` creates the user, so that checkout
// accepts the token.
func TestTokenCreatesUser(t *testing.T) {
	db := testdb.New(t)
	t.Setenv("DATABASE_URL", db.URL)
	t.Setenv("SUPABASE_JWT_SECRET", "a-local-secret-of-enough-length-0123456789")
	t.Setenv("SUPABASE_URL", "")
	const user = "00000000-0000-4000-8000-0000000000c1"
	var out, errOut bytes.Buffer
	if err := tokenCmd(context.Background(), []string{"-user", user, "-email", "c1@example.com"}, &out, &errOut); err != nil {
		t.Fatalf("token: %v\n%s", err, errOut.String())
	}
	if strings.Count(strings.TrimSpace(out.String()), ".") != 2 {
		t.Fatalf("not a token: %q", out.String())
	}
	var n int
	if err := db.Conn(t).QueryRow(context.Background(), "select count(*) from auth.users where id = $1", user).Scan(&n); err != nil || n != 1 {
		t.Fatalf("user rows %d (%v); stderr %s", n, err, errOut.String())
	}
	out.Reset()
	if err := tokenCmd(context.Background(), []string{"-user", "00000000-0000-4000-8000-0000000000c2", "-create=false"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := db.Conn(t).QueryRow(context.Background(), "select count(*) from auth.users where id = '00000000-0000-4000-8000-0000000000c2'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("-create=false created the user (%d, %v)", n, err)
	}
}

// `billing pay` and `billing advance` drive the local Stripe of a running
// dev server: the user's newest session is paid, their period ended.
func TestPayAndAdvanceCommands(t *testing.T) {
	const user = "00000000-0000-4000-8000-0000000000d1"
	ls, err := localstripe.New(localstripe.Options{Upstream: stripetest.MockURL(t), PublicURL: "http://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	mux := http.NewServeMux()
	mux.Handle(localstripe.Prefix+"/", ls)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	api := stripeclient.New(stripetest.Key, srv.URL+localstripe.Prefix, nil, nil)
	cp := &stripe.CustomerParams{}
	cp.AddMetadata("supabase_uid", user)
	cus, err := api.Customers.New(cp)
	if err != nil {
		t.Fatal(err)
	}
	sp := &stripe.CheckoutSessionParams{Mode: stripe.String("subscription"), Customer: stripe.String(cus.ID),
		SuccessURL: stripe.String("http://app.test/ok"), CancelURL: stripe.String("http://app.test/no"),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String("price_dev_standard"), Quantity: stripe.Int64(1)}}}
	if _, err := api.CheckoutSessions.New(sp); err != nil {
		t.Fatal(err)
	}
	cmd := func(name string) func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error {
		return func(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
			return localStripeCmd(ctx, name, args, out, errOut)
		}
	}
	out, _, err := run(t, cmd("pay"), "-url", srv.URL, "-user", user)
	if err != nil || !strings.Contains(out, `"subscriptionId": "sub_`) {
		t.Fatalf("pay: %v\n%s", err, out)
	}
	out, _, err = run(t, cmd("advance"), "-url", srv.URL, "-user", user, "-fail")
	if err != nil || !strings.Contains(out, `"status": "past_due"`) {
		t.Fatalf("advance -fail: %v\n%s", err, out)
	}
	if _, _, err := run(t, cmd("pay"), "-url", srv.URL, "-user", user); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("paying with no open session: %v", err)
	}
}
