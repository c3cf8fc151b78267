package store_test

// The REST data path sends the service-role key in the custom "apikey"
// header. net/http strips only Authorization/Cookie on a redirect to another
// host, so following a 307/308 from SUPABASE_URL (a proxy, a custom domain,
// a misconfigured URL) would hand the key to the redirect target.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"billing/shared/store"
)

func TestServiceKeyNeverFollowsARedirect(t *testing.T) {
	got := make(chan string, 1)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("apikey") + "|" + r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer other.Close()
	supa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer supa.Close()

	const key = "sb_secret_reviewServiceKey"
	c := store.NewREST(supa.URL, key, nil)
	var out map[string]any
	err := c.Call(context.Background(), "billing_user_state", []store.Arg{{Name: "p_user_id", Value: "00000000-0000-0000-0000-000000000001"}}, &out)
	select {
	case h := <-got:
		t.Errorf("the redirect target (another host) received the service key headers %q (call error: %v)", h, err)
	default:
	}
	if err == nil {
		t.Fatal("a redirect must fail the call, not pass for a result")
	}
}
