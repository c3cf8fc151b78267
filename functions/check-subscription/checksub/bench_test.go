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
