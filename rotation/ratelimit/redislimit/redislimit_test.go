package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/redis/go-redis/v9"

	"github.com/rotorkit/rotor/internal/redistest"
	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/ratelimit/ratelimittest"
	"github.com/rotorkit/rotor/rotation/ratelimit/redislimit"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// TestConformance runs the suite on the shared server, each case under a
// prefix of its own, on the suite's clock.
func TestConformance(t *testing.T) {
	c := redistest.Client(t)
	ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
		return redislimit.New(c, &redislimit.Options{Prefix: redistest.Prefix(t, c), Now: now})
	})
}

// TestServerClock checks the limiter as replicas run it, on the clock of
// the Redis server: the budget and the retry-after it gives.
func TestServerClock(t *testing.T) {
	is := is.New(t)
	c := redistest.Client(t)
	lim := redislimit.New(c, &redislimit.Options{Prefix: redistest.Prefix(t, c)})
	const n = 3
	var allowed int
	var wait time.Duration
	for range n + 2 {
		ok, w, err := lim.Allow(t.Context(), "sec_a", n)
		is.NoErr(err) // Redis answers
		if ok {
			allowed++
		} else {
			wait = w
		}
	}
	is.Equal(allowed, n)                                     // exactly the limit at once
	is.True(wait > 19*time.Second && wait <= 20*time.Second) // then a request every 20 s, by the server's clock
}

// TestReplicasShareBudget is three replicas on one server: three
// limiters, each with a client of its own, raced by 32 goroutines, admit
// exactly the limit of a key between them.
func TestReplicasShareBudget(t *testing.T) {
	is := is.New(t)
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	var replicas []*redislimit.Limiter
	for range 3 {
		replicas = append(replicas, redislimit.New(redistest.Client(t), &redislimit.Options{Prefix: prefix}))
	}
	const n, each = 25, 4
	var allowed, refused atomic.Int64
	errs := make(chan error, ratelimittest.Callers*each)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range ratelimittest.Callers {
		wg.Go(func() {
			for i := range each {
				ok, _, err := replicas[(g+i)%len(replicas)].Allow(ctx, "sec_shared", n)
				switch {
				case err != nil:
					errs <- err
				case ok:
					allowed.Add(1)
				default:
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Allow: %v", err)
	}
	is.Equal(allowed.Load(), int64(n))                            // exactly the limit over all three replicas
	is.Equal(refused.Load(), int64(ratelimittest.Callers*each-n)) // and every other request refused
}

// TestKeys checks what the limiter keeps in Redis: one key per id, the
// prefix and the id, which expires once the bucket is full again.
func TestKeys(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	lim := redislimit.New(c, &redislimit.Options{Prefix: prefix})
	_, _, err := lim.Allow(ctx, "sec_a", 2)
	is.NoErr(err)
	keys, err := c.Keys(ctx, prefix+"*").Result()
	is.NoErr(err)
	is.Equal(keys, []string{prefix + "sec_a"}) // the prefix and the id, nothing else
	ttl, err := c.PTTL(ctx, prefix+"sec_a").Result()
	is.NoErr(err)
	is.True(ttl > 29*time.Second && ttl <= 30*time.Second) // gone once the request taken has refilled

	_, _, err = lim.Allow(ctx, "sec_a", 2)
	is.NoErr(err)
	ttl, _ = c.PTTL(ctx, prefix+"sec_a").Result()
	is.True(ttl > 59*time.Second && ttl <= time.Minute) // a bucket is never kept longer than a minute
}

func TestDefaultPrefix(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := redistest.NewServer(t) // the test's own: the default prefix stays out of the shared server
	c := s.Client(t)
	_, _, err := redislimit.New(c, nil).Allow(ctx, "sec_a", 5)
	is.NoErr(err)
	is.Equal(c.Exists(ctx, "rotor:ratelimit:sec_a").Val(), int64(1)) // under DefaultPrefix
	is.Equal(redislimit.DefaultPrefix, "rotor:ratelimit:")
}

// TestScriptCacheFlushed checks that a server that lost its script cache,
// as after a failover, is sent the script again, and the budget goes on.
func TestScriptCacheFlushed(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := redistest.NewServer(t)
	lim := redislimit.New(s.Client(t), nil)
	ok, _, err := lim.Allow(ctx, "sec_a", 2)
	is.True(ok && err == nil) // the first of two
	is.NoErr(s.FlushScripts(ctx))
	ok, _, err = lim.Allow(ctx, "sec_a", 2)
	is.NoErr(err) // EVALSHA's NOSCRIPT is answered with EVAL
	is.True(ok)   // the second of two
	ok, _, err = lim.Allow(ctx, "sec_a", 2)
	is.NoErr(err)
	is.True(!ok)                              // the budget held across the flush
	is.Equal(lim.Stats(), redislimit.Stats{}) // and nothing failed
}

// outage runs a limiter on a server of the test's own that the test stops
// and starts again.
type outage struct {
	server *redistest.Server
	lim    *redislimit.Limiter
	logs   *secretstest.Logs
}

func newOutage(t *testing.T, opts redislimit.Options) *outage {
	t.Helper()
	o := &outage{server: redistest.NewServer(t), logs: &secretstest.Logs{}}
	// One attempt per call, so that each call to the stopped server fails
	// at once; how long a call waits is the client's to set.
	c := redis.NewClient(&redis.Options{Addr: o.server.Addr(), MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	opts.Logger = slog.New(slog.NewTextHandler(o.logs, nil))
	o.lim = redislimit.New(c, &opts)
	return o
}

func (o *outage) allow(t *testing.T, id string) (bool, error) {
	t.Helper()
	ok, _, err := o.lim.Allow(t.Context(), id, 2)
	return ok, err
}

func TestRedisDownFailsOpen(t *testing.T) {
	is := is.New(t)
	o := newOutage(t, redislimit.Options{})
	for range 2 {
		ok, err := o.allow(t, "sec_limited")
		is.True(ok && err == nil) // the limit of two
	}
	ok, _ := o.allow(t, "sec_limited")
	is.True(!ok) // holds

	o.server.Stop()
	for range 5 {
		ok, err := o.allow(t, "sec_limited")
		is.NoErr(err) // with Redis down, no error
		is.True(ok)   // and the request is let through
	}
	is.Equal(o.lim.Stats(), redislimit.Stats{Failures: 5, Down: true})     // each counted, the outage known
	is.Equal(strings.Count(o.logs.String(), "level=WARN"), 1)              // and logged once
	is.True(strings.Contains(o.logs.String(), "letting requests through")) // saying what the limiter does
	is.True(strings.Contains(o.logs.String(), "connection refused"))       // and why
	is.True(!strings.Contains(o.logs.String(), "sec_limited"))             // never with an id

	o.server.Start()
	for range 2 {
		ok, err := o.allow(t, "sec_limited")
		is.True(ok && err == nil) // Redis answers again, by itself: a fresh budget, since it kept nothing
	}
	ok, err := o.allow(t, "sec_limited")
	is.NoErr(err)
	is.True(!ok)                                                                                   // and limits again
	is.Equal(o.lim.Stats(), redislimit.Stats{Failures: 5})                                         // the outage over
	is.True(strings.Contains(o.logs.String(), "level=INFO msg=\"redislimit: redis answers again")) // and its end logged
}

func TestRedisDownFailsClosed(t *testing.T) {
	is := is.New(t)
	o := newOutage(t, redislimit.Options{FailClosed: true})
	o.server.Stop()
	ok, err := o.allow(t, "sec_a")
	is.True(!ok)                                                                                 // with Redis down, the request is refused
	is.True(errors.Is(err, ratelimit.ErrUnavailable))                                            // as unavailable
	is.True(strings.Contains(err.Error(), "connection refused"))                                 // saying why
	is.True(strings.Contains(o.logs.String(), "refusing the requests of keys with rate limits")) // saying what the limiter does
	is.Equal(o.lim.Stats().Failures, uint64(1))

	o.server.Start()
	ok, err = o.allow(t, "sec_a")
	is.NoErr(err) // Redis answers again
	is.True(ok)
	is.Equal(o.lim.Stats(), redislimit.Stats{Failures: 1})
}

// scripter is a redis.Scripter that fails, or answers, as told, and can
// hold a call until released. It is safe for concurrent use.
type scripter struct {
	calls   atomic.Int64
	hold    chan struct{} // if not nil, a call says so on entered, then waits until hold is closed
	entered chan struct{}
	mu      sync.Mutex // guards err
	err     error
}

// holding makes the calls from now on wait until release is called.
func (s *scripter) holding() (release func()) {
	s.hold, s.entered = make(chan struct{}), make(chan struct{}, 100)
	return sync.OnceFunc(func() { close(s.hold) })
}

func (s *scripter) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *scripter) answer(ctx context.Context) *redis.Cmd {
	s.calls.Add(1)
	cmd := redis.NewCmd(ctx)
	if s.hold != nil {
		s.entered <- struct{}{}
		select {
		case <-s.hold:
		case <-ctx.Done():
			cmd.SetErr(ctx.Err())
			return cmd
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		cmd.SetErr(s.err)
	} else {
		cmd.SetVal([]any{int64(1), int64(0)})
	}
	return cmd
}

func (s *scripter) Eval(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return s.answer(ctx)
}

func (s *scripter) EvalSha(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return s.answer(ctx)
}

func (s *scripter) EvalRO(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return s.answer(ctx)
}

func (s *scripter) EvalShaRO(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return s.answer(ctx)
}

func (s *scripter) ScriptExists(ctx context.Context, _ ...string) *redis.BoolSliceCmd {
	return redis.NewBoolSliceCmd(ctx)
}

func (s *scripter) ScriptLoad(ctx context.Context, _ string) *redis.StringCmd {
	return redis.NewStringCmd(ctx)
}

// TestOneCallTriesRedisWhileDown checks that while Redis is down only one
// call at a time waits for it: the others are answered at once.
func TestOneCallTriesRedisWhileDown(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := &scripter{err: errors.New("dial tcp: i/o timeout")}
	lim := redislimit.New(s, nil)
	ok, _, err := lim.Allow(ctx, "sec_a", 1)
	is.True(ok && err == nil) // the first failure lets the request through
	is.True(lim.Stats().Down) // and marks Redis down
	is.Equal(s.calls.Load(), int64(1))

	release := s.holding()
	defer release()
	s.setErr(nil) // Redis is back, but slow to say so
	probed := make(chan bool)
	go func() {
		ok, _, _ := lim.Allow(ctx, "sec_a", 1)
		probed <- ok
	}()
	<-s.entered // the probe is in Redis
	for range 10 {
		ok, _, err := lim.Allow(ctx, "sec_a", 1)
		is.True(ok && err == nil) // meanwhile, the others are let through at once
	}
	is.Equal(s.calls.Load(), int64(2))                                // without trying Redis
	is.Equal(lim.Stats(), redislimit.Stats{Failures: 11, Down: true}) // each counted
	release()
	is.True(<-probed)          // the probe got Redis's answer
	is.True(!lim.Stats().Down) // which ended the outage
	_, _, err = lim.Allow(ctx, "sec_a", 1)
	is.NoErr(err)
	is.Equal(s.calls.Load(), int64(3)) // and the next call asks Redis again
}

// TestDoneContextIsNoOutage checks that a call whose context ends while
// it waits for Redis returns the context's error, whatever the policy,
// and does not count as a failure of Redis.
func TestDoneContextIsNoOutage(t *testing.T) {
	is := is.New(t)
	s := &scripter{}
	defer s.holding()()
	lim := redislimit.New(s, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		ok, _, err := lim.Allow(ctx, "sec_a", 1)
		if ok {
			err = fmt.Errorf("allowed, with %v", err)
		}
		done <- err
	}()
	<-s.entered // the call is in Redis
	cancel()
	err := <-done
	is.True(errors.Is(err, context.Canceled))          // the context's error
	is.True(!errors.Is(err, ratelimit.ErrUnavailable)) // not an outage
	is.Equal(lim.Stats(), redislimit.Stats{})          // nor counted as one
}

func TestNewPanicsWithoutClient(t *testing.T) {
	is := is.New(t)
	defer func() { is.True(recover() != nil) }() // a nil client is a programmer's error
	redislimit.New(nil, nil)
}
