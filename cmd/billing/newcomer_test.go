package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"billing/internal/stripetest/fntest"
	"billing/internal/testdb"
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
