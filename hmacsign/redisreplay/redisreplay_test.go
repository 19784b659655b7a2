package redisreplay_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/redis/go-redis/v9"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/hmacsign/redisreplay"
	"github.com/rotorkit/rotor/hmacsign/replaytest"
	"github.com/rotorkit/rotor/internal/redistest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// serverClock returns the clock of c's server, which the guard's entries
// expire on.
func serverClock(t *testing.T, c *redis.Client) func() time.Time {
	return func() time.Time {
		now, err := c.Time(t.Context()).Result()
		if err != nil {
			t.Fatalf("TIME: %v", err)
		}
		return now
	}
}

// TestConformance runs the suite on the shared server, each case under a
// prefix of its own. Its entries expire on the server's clock, which a
// test cannot step: the checks that step through an expiry are skipped,
// and TestExpiry checks the expiries the script sets instead.
func TestConformance(t *testing.T) {
	c := redistest.Client(t)
	replaytest.Run(t, func(t *testing.T) replaytest.Harness {
		g := redisreplay.New(c, &redisreplay.Options{Prefix: redistest.Prefix(t, c)})
		return replaytest.Harness{Guard: g, Now: serverClock(t, c)}
	})
}

// entry returns the one key under prefix and its expiry in Unix
// milliseconds.
func entry(t *testing.T, c *redis.Client, prefix string) (key string, expiresMs int64) {
	t.Helper()
	keys, err := c.Keys(t.Context(), prefix+"*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys under the prefix: %q, %v; want one", keys, err)
	}
	at, err := c.PExpireTime(t.Context(), keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys[0], at.Milliseconds()
}

// TestExpiry checks the expiry of an entry, which the suite cannot step
// through: the until given, rounded up to the millisecond; moved by a
// later until, never by an earlier one.
func TestExpiry(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	g := redisreplay.New(c, &redisreplay.Options{Prefix: prefix})
	now := serverClock(t, c)()
	until := now.Add(5 * time.Minute).Truncate(time.Millisecond).Add(300 * time.Microsecond)

	seen, err := g.Seen(ctx, "acme", "msg_1", until)
	is.NoErr(err)
	is.True(!seen)
	_, at := entry(t, c, prefix)
	is.Equal(at, until.UnixMilli()+1) // expires at its until, rounded up: it lives through it

	later := until.Add(time.Hour)
	seen, _ = g.Seen(ctx, "acme", "msg_1", later)
	is.True(seen)
	_, at = entry(t, c, prefix)
	is.Equal(at, later.UnixMilli()+1) // a later until extends the entry

	seen, _ = g.Seen(ctx, "acme", "msg_1", until)
	is.True(seen)
	_, at = entry(t, c, prefix)
	is.Equal(at, later.UnixMilli()+1) // an earlier one does not shorten it
}

// TestKeys checks what the guard keeps in Redis: one key per message,
// the prefix and a hash, which holds neither the owner nor the id.
func TestKeys(t *testing.T) {
	is := is.New(t)
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	g := redisreplay.New(c, &redisreplay.Options{Prefix: prefix})
	mac := "mac:" + strings.Repeat("3f", 32) // the id of a Stripe message: its MAC
	_, err := g.Seen(t.Context(), "acme", mac, serverClock(t, c)().Add(time.Minute))
	is.NoErr(err)
	key, _ := entry(t, c, prefix)
	hash, ok := strings.CutPrefix(key, prefix)
	is.True(ok)                                        // under the prefix
	is.Equal(len(hash), 43)                            // a SHA-256 in unpadded base64url, however long the id
	is.True(!strings.Contains(hash, "acme"))           // without the owner
	is.True(!strings.Contains(key, "3f3f3f"))          // or the MAC
	is.True(!strings.ContainsAny(hash, "+/=:{}*\x00")) // in characters that need no escaping anywhere
}

func TestDefaultPrefix(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := redistest.NewServer(t) // the test's own: the default prefix stays out of the shared server
	c := s.Client(t)
	_, err := redisreplay.New(c, nil).Seen(ctx, "acme", "msg_1", time.Now().Add(time.Hour))
	is.NoErr(err)
	keys, _ := c.Keys(ctx, "*").Result()
	is.Equal(len(keys), 1)
	is.True(strings.HasPrefix(keys[0], "rotor:replay:")) // under DefaultPrefix
	is.Equal(redisreplay.DefaultPrefix, "rotor:replay:")
}

// TestScriptCacheFlushed checks that a server that lost its script
// cache, as after a failover, is sent the script again.
func TestScriptCacheFlushed(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := redistest.NewServer(t)
	g := redisreplay.New(s.Client(t), nil)
	until := time.Now().Add(time.Hour)
	seen, err := g.Seen(ctx, "acme", "msg_1", until)
	is.True(!seen && err == nil)
	is.NoErr(s.FlushScripts(ctx))
	seen, err = g.Seen(ctx, "acme", "msg_1", until)
	is.NoErr(err)                            // EVALSHA's NOSCRIPT is answered with EVAL
	is.True(seen)                            // which finds the entry
	is.Equal(g.Stats(), redisreplay.Stats{}) // and nothing failed
}

// TestReplicasShareEntries is two replicas of a service, each with a
// verifier over a guard with a client of its own: a message accepted by
// one is a replay to the other.
func TestReplicasShareEntries(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	key, err := hmacsign.NewKey("k", secrets.NewValue("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), time.Time{})
	is.NoErr(err)
	keys := hmacsign.StaticKeys{key}
	var replicas []*hmacsign.Verifier
	for range 2 {
		guard := redisreplay.New(redistest.Client(t), &redisreplay.Options{Prefix: prefix})
		v, err := hmacsign.NewVerifier(keys, &hmacsign.VerifierOptions{Replay: guard})
		is.NoErr(err)
		replicas = append(replicas, v)
	}
	m, err := hmacsign.NewSigner(keys, nil).Sign(ctx, "acme", hmacsign.NewMessageID(), []byte(`{"type":"invoice.paid"}`))
	is.NoErr(err)

	_, err = replicas[0].Verify(ctx, "acme", m)
	is.NoErr(err) // the first delivery, to one replica
	_, err = replicas[1].Verify(ctx, "acme", m)
	is.True(errors.Is(err, hmacsign.ErrReplayed)) // is a replay to the other
	_, err = replicas[1].Verify(ctx, "globex", m)
	is.True(!errors.Is(err, hmacsign.ErrReplayed)) // only for the same owner

	// Racing replicas: one of 32 deliveries of a message gets through.
	m, err = hmacsign.NewSigner(keys, nil).Sign(ctx, "acme", hmacsign.NewMessageID(), []byte(`{"type":"invoice.voided"}`))
	is.NoErr(err)
	results := make([]error, replaytest.Callers)
	var wg sync.WaitGroup
	for i := range replaytest.Callers {
		wg.Go(func() { _, results[i] = replicas[i%2].Verify(ctx, "acme", m) })
	}
	wg.Wait()
	var accepted, replayed int
	for _, err := range results {
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, hmacsign.ErrReplayed):
			replayed++
		default:
			t.Errorf("Verify: %v", err)
		}
	}
	is.Equal(accepted, 1)                    // exactly one accepted
	is.Equal(replayed, replaytest.Callers-1) // every other a replay
}

// outage runs a guard on a server of the test's own that the test stops
// and starts again.
type outage struct {
	server *redistest.Server
	guard  *redisreplay.Guard
	logs   *secretstest.Logs
}

func newOutage(t *testing.T, opts redisreplay.Options) *outage {
	t.Helper()
	o := &outage{server: redistest.NewServer(t), logs: &secretstest.Logs{}}
	// One attempt per call, so that each call to the stopped server fails
	// at once; how long a call waits is the client's to set.
	c := redis.NewClient(&redis.Options{Addr: o.server.Addr(), MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	opts.Logger = slog.New(slog.NewTextHandler(o.logs, nil))
	o.guard = redisreplay.New(c, &opts)
	return o
}

func (o *outage) seen(t *testing.T, id string) (bool, error) {
	t.Helper()
	return o.guard.Seen(t.Context(), "acme", id, time.Now().Add(time.Hour))
}

func TestRedisDownFailsClosed(t *testing.T) {
	is := is.New(t)
	o := newOutage(t, redisreplay.Options{})
	seen, err := o.seen(t, "msg_1")
	is.True(!seen && err == nil) // a first message

	o.server.Stop()
	for range 3 {
		seen, err := o.seen(t, "msg_2")
		is.True(!seen)                                         // with Redis down
		is.True(errors.Is(err, hmacsign.ErrGuardUnavailable))  // the guard cannot tell, and says so
		is.True(!errors.Is(err, hmacsign.ErrInvalidSignature)) // no verdict on the signature
		is.True(strings.Contains(err.Error(), "connection refused"))
	}
	is.Equal(o.guard.Stats(), redisreplay.Stats{Failures: 3, Down: true})  // each counted, the outage known
	is.Equal(strings.Count(o.logs.String(), "level=WARN"), 1)              // and logged once
	is.True(strings.Contains(o.logs.String(), "refusing signed messages")) // saying what the guard does
	is.True(!strings.Contains(o.logs.String(), "msg_2"))                   // never with an id
	is.True(!strings.Contains(o.logs.String(), "acme"))                    // or an owner

	o.server.Start()
	seen, err = o.seen(t, "msg_2")
	is.NoErr(err)  // Redis answers again, by itself
	is.True(!seen) // and msg_2, refused while it was down, is new
	seen, err = o.seen(t, "msg_2")
	is.NoErr(err)
	is.True(seen)                                                                                  // then seen
	is.Equal(o.guard.Stats(), redisreplay.Stats{Failures: 3})                                      // the outage over
	is.True(strings.Contains(o.logs.String(), `level=INFO msg="redisreplay: redis answers again`)) // and its end logged
}

func TestRedisDownFailsOpen(t *testing.T) {
	is := is.New(t)
	o := newOutage(t, redisreplay.Options{FailOpen: true})
	o.server.Stop()
	for range 2 {
		seen, err := o.seen(t, "msg_1")
		is.NoErr(err)  // with Redis down, no error
		is.True(!seen) // and every message new: accepted unguarded
	}
	is.Equal(o.guard.Stats().Failures, uint64(2))
	is.True(strings.Contains(o.logs.String(), "accepting signed messages unguarded against replays"))

	o.server.Start()
	_, err := o.seen(t, "msg_1")
	is.NoErr(err)
	seen, _ := o.seen(t, "msg_1")
	is.True(seen) // guarded again
	is.True(!o.guard.Stats().Down)
}

// holdingScripter is a redis.Scripter whose calls wait until their
// context ends, and then fail with its error, as a client does.
type holdingScripter struct{ entered chan struct{} }

func (s holdingScripter) hold(ctx context.Context) *redis.Cmd {
	s.entered <- struct{}{}
	<-ctx.Done()
	cmd := redis.NewCmd(ctx)
	cmd.SetErr(ctx.Err())
	return cmd
}

func (s holdingScripter) Eval(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return s.hold(ctx)
}

func (s holdingScripter) EvalSha(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return s.hold(ctx)
}

func (s holdingScripter) EvalRO(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return s.hold(ctx)
}

func (s holdingScripter) EvalShaRO(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return s.hold(ctx)
}

func (s holdingScripter) ScriptExists(ctx context.Context, _ ...string) *redis.BoolSliceCmd {
	return redis.NewBoolSliceCmd(ctx)
}

func (s holdingScripter) ScriptLoad(ctx context.Context, _ string) *redis.StringCmd {
	return redis.NewStringCmd(ctx)
}

// TestDoneContextIsNoOutage checks that a call whose context ends while
// it waits for Redis returns the context's error, even with FailOpen, and
// does not count as a failure of Redis.
func TestDoneContextIsNoOutage(t *testing.T) {
	is := is.New(t)
	s := holdingScripter{entered: make(chan struct{}, 1)}
	g := redisreplay.New(s, &redisreplay.Options{FailOpen: true})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := g.Seen(ctx, "acme", "msg_1", time.Now().Add(time.Hour))
		done <- err
	}()
	<-s.entered // the call is in Redis
	cancel()
	err := <-done
	is.True(errors.Is(err, context.Canceled))              // the context's error, though the guard fails open
	is.True(!errors.Is(err, hmacsign.ErrGuardUnavailable)) // not an outage
	is.Equal(g.Stats(), redisreplay.Stats{})               // nor counted as one
}

func TestNewPanicsWithoutClient(t *testing.T) {
	is := is.New(t)
	defer func() { is.True(recover() != nil) }() // a nil client is a programmer's error
	redisreplay.New(nil, nil)
}
