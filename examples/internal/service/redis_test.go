package service_test

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/redisenv"
	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/hmacsign/redisreplay"
	"github.com/rotorkit/rotor/internal/redistest"
	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/ratelimit/redislimit"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/memstore"
)

// sharing is the test app, whose counters go to Redis with
// ROTOR_REDIS_URL.
func sharing() service.App {
	a := app(false)
	a.Redis = redisenv.Open
	return a
}

// TestNewEnvCounters checks where an Env's counters are kept: in the
// process without a Redis URL or for an App that shares none, in Redis
// otherwise, under "rotor:<name>:" unless a prefix is given.
func TestNewEnvCounters(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()

	env, err := sharing().NewEnv(memstore.New(), nil)
	is.NoErr(err)
	_, memLimiter := env.Limiter.(*ratelimit.Memory)
	_, memGuard := env.Replay.(*hmacsign.MemoryReplayGuard)
	is.True(memLimiter && memGuard && !env.Shared) // without a Redis URL, in the process
	is.NoErr(env.Close())                          // which holds nothing to close

	s := redistest.NewServer(t) // the test's own: the default prefix stays out of the shared server
	env, err = app(false).NewEnv(memstore.New(), &service.EnvOptions{RedisURL: s.URL()})
	is.NoErr(err)
	is.True(!env.Shared) // an App without Redis keeps its counters in the process, URL or not

	env, err = sharing().NewEnv(memstore.New(), &service.EnvOptions{RedisURL: s.URL()})
	is.NoErr(err)
	defer env.Close()
	_, redisLimiter := env.Limiter.(*redislimit.Limiter)
	_, redisGuard := env.Replay.(*redisreplay.Guard)
	is.True(redisLimiter && redisGuard && env.Shared) // with one, in Redis
	_, _, err = env.Limiter.Allow(ctx, "sec_a", 1)
	is.NoErr(err)
	_, err = env.Replay.Seen(ctx, "acme", "msg_1", env.Now().Add(time.Hour))
	is.NoErr(err)
	c := s.Client(t)
	is.Equal(c.Exists(ctx, "rotor:testapp:ratelimit:sec_a").Val(), int64(1)) // under rotor:<name>:
	replay, _ := c.Keys(ctx, "rotor:testapp:replay:*").Result()
	is.Equal(len(replay), 1)

	prefixed, err := sharing().NewEnv(memstore.New(), &service.EnvOptions{RedisURL: s.URL(), RedisPrefix: "other:"})
	is.NoErr(err)
	defer prefixed.Close()
	_, _, err = prefixed.Limiter.Allow(ctx, "sec_a", 1)
	is.NoErr(err)
	is.Equal(c.Exists(ctx, "other:ratelimit:sec_a").Val(), int64(1)) // or under the prefix given
}

func TestNewEnvRefusesBadRedisURL(t *testing.T) {
	is := is.New(t)
	for _, url := range []string{"http://user:hunter2@127.0.0.1:6379", "redis://user:hunter2@[::1", "redis://user:hunter2@127.0.0.1:6379/x"} {
		_, err := sharing().NewEnv(memstore.New(), &service.EnvOptions{RedisURL: url})
		is.True(err != nil)                                       // a URL that is not Redis's is refused
		is.True(strings.Contains(err.Error(), "ROTOR_REDIS_URL")) // naming the variable
		is.True(!strings.Contains(err.Error(), "hunter2"))        // never the URL, which may hold a password
	}
}

// TestRunWithRedis starts the service with ROTOR_REDIS_URL and
// ROTOR_REDIS_PREFIX, which says where its counters are without naming
// the URL.
func TestRunWithRedis(t *testing.T) {
	is := is.New(t)
	c := redistest.Client(t)
	url, prefix := redistest.URL(t), redistest.Prefix(t, c)
	for _, tt := range []struct {
		app  service.App
		want string
	}{
		{sharing(), "rate limits and replay guard are shared in Redis (ROTOR_REDIS_URL)"},
		{app(false), "ROTOR_REDIS_URL is set, but this service keeps no counters to share"},
	} {
		var stderr secretstest.Logs
		ctx, cancel := context.WithCancel(t.Context())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- service.Run(ctx, tt.app, []string{"-data", t.TempDir(), "-addr", "127.0.0.1:0"},
				env("ROTOR_REDIS_URL", url, "ROTOR_REDIS_PREFIX", prefix), pw, &stderr)
			pw.Close()
		}()
		_, err := bufio.NewReader(pr).ReadString('\n')
		is.NoErr(err) // the server starts
		cancel()
		is.NoErr(<-done)
		is.True(strings.Contains(stderr.String(), tt.want)) // and says where its counters are
		is.True(!strings.Contains(stderr.String(), url))    // never with the URL
	}
}
