package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"billing/internal/ops"
	"billing/shared/auth"
	"billing/shared/plans"
	"billing/shared/store"
)

// defaultWebhookURL is the webhook of `billing dev`.
const defaultWebhookURL = "http://127.0.0.1:54321/functions/v1/handle-stripe-webhook"

func runTrigger(ctx context.Context, args []string) error {
	return triggerCmd(ctx, args, os.Stdout, os.Stderr)
}

// triggerCmd is `billing trigger <event type> [-url URL] [-user UUID]
// [-customer cus_..] [-subscription sub_..] [-plan standard] [-price P]
// [-cancel] [-status S] [-print]`: like `stripe trigger`, it sends a
// correctly signed, realistic event (from the fixtures in internal/ops/events)
// to the webhook.
func triggerCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trigger", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "webhook URL (default: PORT's local server, "+defaultWebhookURL+")")
	user := fs.String("user", DemoUserID, "user ID (metadata.supabase_uid)")
	customer := fs.String("customer", "", "Stripe customer (default: the user's linked customer when the database is reachable, else cus_dev<id>)")
	subscription := fs.String("subscription", "", "Stripe subscription (default: sub_dev<id>, one per user)")
	plan := fs.String("plan", "standard", "catalog plan whose price the subscription carries")
	price := fs.String("price", "", "Stripe price ID (overrides -plan)")
	cancel := fs.Bool("cancel", false, "the subscription cancels at period end")
	status := fs.String("status", "", "subscription status (default active; canceled for .deleted)")
	printOnly := fs.Bool("print", false, "print the signed event instead of sending it")
	pos, err := parseWithPositional(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("usage: billing trigger <event type> [flags]; event types: %s", strings.Join(ops.TriggerTypes(), ", "))
	}
	if !auth.IsUUID(*user) {
		return fmt.Errorf("-user must be a user ID (UUID), got %q", *user)
	}
	userID := strings.ToLower(*user)
	mode := strings.ToLower(envOrDev("STRIPE_MODE"))
	if *price == "" {
		cat, err := plans.Load(os.Getenv("BILLING_PLANS_FILE"), mode, envOrDev)
		if err != nil {
			return err
		}
		p, ok := cat.PriceID(*plan)
		if !ok {
			return fmt.Errorf("plan %q has no %s-mode price in the catalog", *plan, mode)
		}
		*price = p
	}
	if *customer == "" {
		*customer = linkedCustomer(ctx, userID, stderr)
	}
	if *subscription == "" {
		*subscription = ops.DefaultSubscriptionID(userID)
	}
	payload, err := ops.BuildEvent(ops.EventOptions{Type: pos[0], UserID: userID, CustomerID: *customer,
		SubscriptionID: *subscription, PriceID: *price, Livemode: mode == "live", CancelAtPeriodEnd: *cancel,
		Status: *status, Now: time.Now()})
	if err != nil {
		return err
	}
	secret := webhookSecret()
	if secret == "" {
		return fmt.Errorf("STRIPE_WEBHOOK_SECRET is not set (run `make dev` once to create the local one)")
	}
	if *printOnly {
		fmt.Fprintf(stdout, "Stripe-Signature: %s\n\n%s\n", ops.SignatureHeader(payload, secret, time.Now()), payload)
		return nil
	}
	if *url == "" {
		*url = "http://127.0.0.1:" + getenv("PORT", "54321") + "/functions/v1/handle-stripe-webhook"
	}
	fmt.Fprintf(stderr, "trigger: %s for user %s (customer %s, subscription %s, price %s) -> %s\n",
		pos[0], userID, *customer, *subscription, *price, *url)
	code, body, err := ops.SendEvent(ctx, nil, *url, payload, secret)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d %s\n", code, strings.TrimSpace(string(body)))
	if code/100 != 2 {
		return fmt.Errorf("the webhook answered %d", code)
	}
	return nil
}

// envOrDev reads a variable, falling back to `billing dev`'s defaults.
func envOrDev(k string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return devDefaults[k]
}

// webhookSecret is the first STRIPE_WEBHOOK_SECRET (of a rotation list),
// else the one `billing dev` generated.
func webhookSecret() string {
	s := os.Getenv("STRIPE_WEBHOOK_SECRET")
	if s == "" {
		s = readDevEnv()["STRIPE_WEBHOOK_SECRET"]
	}
	first, _, _ := strings.Cut(s, ",")
	return strings.TrimSpace(first)
}

// linkedCustomer is the user's Stripe customer as the database knows it
// (DATABASE_URL, else `billing dev`'s database when .data/dev.env exists),
// or ops.DefaultCustomerID when it cannot tell: the webhook links a
// customer to a user only once, so the event must name the linked one.
func linkedCustomer(ctx context.Context, userID string, stderr io.Writer) string {
	fallback := ops.DefaultCustomerID(userID)
	url := os.Getenv("DATABASE_URL")
	if url == "" && len(readDevEnv()) > 0 {
		url = fmt.Sprintf("postgres://postgres@127.0.0.1:%s/billing?sslmode=disable", getenv("DEV_DB_PORT", "54322"))
	}
	if url == "" {
		return fallback
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	pg, err := store.OpenPG(ctx, url)
	if err != nil {
		return fallback
	}
	defer pg.Close()
	st, err := store.New(pg).UserState(ctx, userID)
	if err != nil {
		fmt.Fprintf(stderr, "trigger: could not read the user's customer (%v); using %s\n", err, fallback)
		return fallback
	}
	if st.StripeCustomerID != "" {
		return st.StripeCustomerID
	}
	return fallback
}
