package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/internal/redistest"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// TestReplicasShareRateLimit is three replicas of the service, each built
// as main builds it with ROTOR_REDIS_URL, over one database and the
// shared Redis: a token limited to n requests a minute gets exactly n
// between them from 32 callers at once, whichever replica each request
// reaches, and one more every minute/n.
func TestReplicasShareRateLimit(t *testing.T) {
	for _, b := range []struct {
		name string
		db   func(testing.TB) *sqlstoretest.DB
	}{{"SQLite", sqlstoretest.SQLite}, {"PostgreSQL", sqlstoretest.Postgres}} {
		t.Run(b.name, func(t *testing.T) {
			is := is.New(t)
			db := b.db(t)
			c := redistest.Client(t)
			opts := service.EnvOptions{RedisURL: redistest.URL(t), RedisPrefix: redistest.Prefix(t, c)}
			clock := rotationtest.NewClock(start) // the replicas' clocks agree, as NTP keeps them
			var replicas []*harness
			for range 3 {
				replicas = append(replicas, newReplica(t, db.Open(t), clock, opts))
			}
			first := replicas[0]
			first.owner, first.secret = first.createOwner("acme")
			for _, r := range replicas {
				is.True(r.env.Shared) // each keeps its counters in Redis
				r.shown = first.shown // and no replica's logs may hold a secret any was shown
			}
			const n = 10
			limited := secretOf(first.create(`{"api_token": {"name": "limited", "rate_limit": ` + strconv.Itoa(n) + `, "scopes": ["api_tokens"]}}`))

			const callers, each = 32, 3
			codes := make([]int, callers*each)
			retry := make([]string, callers*each)
			ctx := t.Context()
			var wg sync.WaitGroup
			for g := range callers {
				wg.Go(func() {
					for i := range each {
						// Served here, not by the harness: only the test's
						// goroutine may fail the test.
						r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api_tokens", nil)
						r.Header.Set("Authorization", "Bearer "+limited)
						w := httptest.NewRecorder()
						replicas[(g+i)%len(replicas)].srv.ServeHTTP(w, r)
						codes[g*each+i], retry[g*each+i] = w.Code, w.Header().Get("Retry-After")
					}
				})
			}
			wg.Wait()
			count := map[int]int{}
			for i, code := range codes {
				count[code]++
				if code == http.StatusTooManyRequests {
					is.Equal(retry[i], "6") // a request refills every 6 s
				}
			}
			is.Equal(count, map[int]int{http.StatusOK: n, http.StatusTooManyRequests: callers*each - n}) // exactly the limit, over all three

			clock.Advance(time.Minute / n)
			var ok int
			for _, r := range replicas {
				if r.works(limited, "") {
					ok++
				}
			}
			is.Equal(ok, 1) // one request refilled, which one replica got
		})
	}
}
