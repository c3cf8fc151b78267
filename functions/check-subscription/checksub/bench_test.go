package checksub_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"billing/internal/testdb"
)

// BenchmarkCheckSubscription measures requests per second of the whole
// function (middleware, CORS, JWT verification, the SQL read, access rules,
// JSON) over loopback HTTP against the real Postgres, with parallel
// clients, on the pgx data path and the REST path.
func BenchmarkCheckSubscription(b *testing.B) {
	for _, path := range []string{"pgx", "rest"} {
		b.Run(path, func(b *testing.B) {
			db := testdb.New(b)
			url, mint := server(b, db, path)
			user := db.CreateUser(b, "bench@example.com")
			insertSub(b, db, user, "sub_bench", "active", "standard", time.Now().Add(720*time.Hour), false)
			tok := mint(user)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			target := url + "/functions/v1/check-subscription"
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", target, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					// Read to the end, or the connection is not reused and
					// every request dials anew.
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkCheckSubscriptionHandler is one request's cost in the server
// alone: the handler with its middleware (CORS, request ID, JWT
// verification, the SQL read over pgx against the real Postgres, access
// rules, JSON) called directly, without an HTTP server or client, so that
// allocs/op is what the function allocates per request (make bench's
// budget row). The request and the response writer are reused.
func BenchmarkCheckSubscriptionHandler(b *testing.B) {
	b.Run("pgx", func(b *testing.B) {
		db := testdb.New(b)
		h, mint := handler(b, db, "pgx")
		user := db.CreateUser(b, "bench@example.com")
		insertSub(b, db, user, "sub_bench", "active", "standard", time.Now().Add(720*time.Hour), false)
		req, _ := http.NewRequest("GET", "http://127.0.0.1/functions/v1/check-subscription", nil)
		req.Header.Set("Authorization", "Bearer "+mint(user))
		w := &discard{header: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			clear(w.header)
			w.status = 0
			h.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}

// discard is a reusable http.ResponseWriter that keeps only the status.
type discard struct {
	header http.Header
	status int
}

func (d *discard) Header() http.Header { return d.header }
func (d *discard) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
func (d *discard) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(b), nil
}
