package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/internal/redistest"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// TestReplicasRefuseEachOthersReplays is two replicas of the service, as
// main builds them with ROTOR_REDIS_URL, over one database and the shared
// Redis: a signed request accepted by one is a replay to the other.
func TestReplicasRefuseEachOthersReplays(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		is := is.New(t)
		h := newHarness(t, db, nil)
		// The guard's entries expire on the Redis server's clock, as
		// verifiers' clocks should agree with it: sign on a clock at its
		// time, not the harness's fixed start.
		h.clock.Set(time.Now().Truncate(time.Second))
		c := redistest.Client(t)
		opts := service.EnvOptions{RedisURL: redistest.URL(t), RedisPrefix: redistest.Prefix(t, c)}
		envA, a := h.service(h.db.Open(t), h.ring, opts)
		_, b := h.service(h.db.Open(t), h.ring, opts)
		is.True(envA.Shared) // the counters are in Redis

		m := message{secret: h.first, id: "msg_once", owner: h.owner, body: `{"oldSecretValidForSeconds": 60}`}
		h.regenerated(h.serveBy(a, h.request(m)), h.clock.Now().Add(time.Minute)) // accepted by one replica
		before := h.only()
		w := h.serveBy(b, h.request(m))
		if diff := cmp.Diff(unauthorized("replayed"), problem(t, w, http.StatusUnauthorized)); diff != "" {
			t.Errorf("the message replayed to the other replica (-want +got):\n%s", diff) // is refused there too
		}
		h.unchanged(before)

		m.id = "msg_other"
		h.regenerated(h.serveBy(b, h.request(m)), h.clock.Now().Add(time.Minute)) // a new message id is accepted
	})
}

// TestRedisDown is the service on a Redis server of the test's own that
// stops: signed requests, which the replay guard must check, are refused
// with a 503 to retry, changing nothing; bearer requests, which need no
// counter, go on; and once Redis is back, signed requests work again.
func TestRedisDown(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, sqlstoretest.SQLite, nil)
	h.clock.Set(time.Now().Truncate(time.Second))
	s := redistest.NewServer(t)
	env, replica := h.service(h.db.Open(t), h.ring, service.EnvOptions{RedisURL: s.URL()})
	is.True(env.Shared)

	s.Stop()
	before := h.only()
	w := h.serveBy(replica, h.signed(h.first, `{}`))
	want := map[string]any{
		"type": "about:blank", "title": "Service Unavailable", "status": float64(503), "instance": route,
		"code": "service_unavailable",
	}
	if diff := cmp.Diff(want, problem(t, w, http.StatusServiceUnavailable)); diff != "" {
		t.Errorf("a signed request with Redis down (-want +got):\n%s", diff) // refused, to retry: the guard fails closed
	}
	h.unchanged(before)
	is.Equal(h.serveBy(replica, h.bearer(h.first, `{}`)).Code, http.StatusOK)        // a bearer request needs no counter
	is.True(strings.Contains(h.logs.String(), "redisreplay: redis does not answer")) // the outage is logged

	s.Start()
	h.regenerated(h.serveBy(replica, h.signed(h.secret, `{}`)), time.Time{}) // back by itself
}
