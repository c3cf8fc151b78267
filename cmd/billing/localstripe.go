package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"billing/internal/localstripe"
	"billing/shared/auth"
)

func runPay(ctx context.Context, args []string) error {
	return localStripeCmd(ctx, "pay", args, os.Stdout, os.Stderr)
}

func runAdvance(ctx context.Context, args []string) error {
	return localStripeCmd(ctx, "advance", args, os.Stdout, os.Stderr)
}

// localStripeCmd is `billing pay [-session cs_...] [-user UUID]` and
// `billing advance [-subscription sub_...] [-user UUID] [-fail]`: the local
// Stripe of a running `billing dev` pays a Checkout Session (the user's
// newest open one by default) or ends a subscription's period, and prints
// the webhook deliveries it made.
func localStripeCmd(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "the dev server (default http://127.0.0.1:$PORT, PORT default 54321)")
	user := fs.String("user", DemoUserID, "the user whose newest open session (pay) or subscription (advance) is meant")
	session := fs.String("session", "", "pay: this Checkout Session")
	subscription := fs.String("subscription", "", "advance: this subscription")
	fail := fs.Bool("fail", false, "advance: the renewal's payment fails (past_due)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !auth.IsUUID(*user) {
		return fmt.Errorf("-user must be a user ID (UUID), got %q", *user)
	}
	if *base == "" {
		*base = "http://127.0.0.1:" + getenv("PORT", "54321")
	}
	body := map[string]string{"user": strings.ToLower(*user)}
	if name == "pay" {
		body["session"] = *session
	} else {
		body["subscription"] = *subscription
		body["outcome"] = string(localstripe.Renew)
		if *fail {
			body["outcome"] = string(localstripe.Fail)
		}
	}
	payload, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	url := strings.TrimRight(*base, "/") + localstripe.Prefix + "/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w (is `make dev` running, without STRIPE_SECRET_KEY?)", err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the local Stripe answered %d: %s", res.StatusCode, strings.TrimSpace(string(out)))
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	fmt.Fprintln(stdout, string(out))
	return nil
}
