package hmacsign_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/hmacsign/replaytest"
)

func TestMemoryReplayGuard(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	clk := newClock(t0)
	g := newGuard(t, 10, clk.Now)
	until := t0.Add(time.Minute)

	seen, err := g.Seen(ctx, "a", "msg_1", until)
	is.NoErr(err)  // the guard never fails
	is.True(!seen) // a first message is new
	seen, _ = g.Seen(ctx, "a", "msg_1", until)
	is.True(seen) // the same one again is seen
	seen, _ = g.Seen(ctx, "b", "msg_1", until)
	is.True(!seen) // the same id from another owner is new
	seen, _ = g.Seen(ctx, "a", "msg_2", until)
	is.True(!seen) // another id is new

	clk.Set(until)
	seen, _ = g.Seen(ctx, "a", "msg_1", until)
	is.True(seen) // an entry lives up to and including its until
	clk.Advance(time.Nanosecond)
	seen, _ = g.Seen(ctx, "a", "msg_1", until.Add(time.Minute))
	is.True(!seen)       // after it, the id is new again
	is.Equal(g.Len(), 1) // and the expired entries are gone
}

func TestMemoryReplayGuardExtends(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	clk := newClock(t0)
	g := newGuard(t, 10, clk.Now)
	_, _ = g.Seen(ctx, "a", "msg_1", t0.Add(time.Minute))
	seen, _ := g.Seen(ctx, "a", "msg_1", t0.Add(time.Hour))
	is.True(seen) // seen once
	clk.Set(t0.Add(2 * time.Minute))
	seen, _ = g.Seen(ctx, "a", "msg_1", t0.Add(time.Hour))
	is.True(seen) // and still seen past the first until, since the second extended it
}

func TestMemoryReplayGuardEvictsSoonestExpiry(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	g := newGuard(t, 3, fixed(t0))
	_, _ = g.Seen(ctx, "o", "late", t0.Add(3*time.Minute))
	_, _ = g.Seen(ctx, "o", "soon", t0.Add(1*time.Minute))
	_, _ = g.Seen(ctx, "o", "mid", t0.Add(2*time.Minute))
	seen, _ := g.Seen(ctx, "o", "new", t0.Add(4*time.Minute))
	is.True(!seen)       // a new entry gets in when the guard is full
	is.Equal(g.Len(), 3) // without growing past the bound

	for _, tt := range []struct {
		id   string
		want bool
	}{{"late", true}, {"mid", true}, {"new", true}} {
		seen, _ := g.Seen(ctx, "o", tt.id, t0.Add(4*time.Minute))
		is.Equal(seen, tt.want) // the entries expiring later stay
	}
	seen, _ = g.Seen(ctx, "o", "soon", t0.Add(time.Minute))
	is.True(!seen) // the one expiring soonest made room
}

func TestMemoryReplayGuardDefaults(t *testing.T) {
	is := is.New(t)
	g := newGuard(t, 0, nil)
	seen, err := g.Seen(t.Context(), "o", "m", time.Now().Add(time.Minute))
	is.NoErr(err)  // a guard with defaults works
	is.True(!seen) // and starts empty
}

func TestMemoryReplayGuardConcurrent(t *testing.T) {
	ctx := t.Context()
	g := newGuard(t, 1000, fixed(t0))
	var firsts atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 200 {
				seen, _ := g.Seen(ctx, "o", fmt.Sprint("msg_", i), t0.Add(time.Minute))
				if !seen {
					firsts.Add(1)
				}
			}
		})
	}
	wg.Wait()
	is := is.New(t)
	is.Equal(firsts.Load(), int64(200)) // each id is new exactly once, however many goroutines race
}

// countingGuard records what a verifier asks of it.
type countingGuard struct {
	inner hmacsign.ReplayGuard
	calls atomic.Int64
	until time.Time
	id    string
}

func (c *countingGuard) Seen(ctx context.Context, owner, id string, until time.Time) (bool, error) {
	c.calls.Add(1)
	c.until, c.id = until, id
	return c.inner.Seen(ctx, owner, id, until)
}

func TestVerifierReplay(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	key := newKey(t, "k", secretA, time.Time{})
	clk := newClock(t0)
	guard := &countingGuard{inner: newGuard(t, 100, clk.Now)}
	v := newVerifier(t, hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Now: clk.Now, Replay: guard})
	m := sign(t, hmacsign.StaticKeys{key}, nil, t0, "msg_1", payload)

	forged := m
	forged.Payload = []byte("forged")
	for range 3 {
		_, err := v.Verify(ctx, "owner", forged)
		is.True(errors.Is(err, hmacsign.ErrNoMatch)) // a forgery is refused
	}
	is.Equal(guard.calls.Load(), int64(0)) // without touching the guard

	_, err := v.Verify(ctx, "owner", m)
	is.NoErr(err)                                       // the first delivery verifies
	is.True(guard.until.Equal(t0.Add(5 * time.Minute))) // remembered until its timestamp plus the tolerance
	clk.Advance(time.Minute)
	_, err = v.Verify(ctx, "owner", m)
	is.True(errors.Is(err, hmacsign.ErrReplayed))         // the second is a replay
	is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // which is an invalid signature
	_, err = v.Verify(ctx, "other", m)
	is.NoErr(err) // the same id for another owner is another message

	clk.Advance(5 * time.Minute)
	_, err = v.Verify(ctx, "owner", m)
	is.True(errors.Is(err, hmacsign.ErrTimestampTooOld)) // once forgotten, the tolerance refuses it
}

func TestVerifierReplayWithoutID(t *testing.T) {
	ctx := t.Context()
	key := newKey(t, "k", secretC, time.Time{})
	tests := []struct {
		name      string
		scheme    hmacsign.Scheme
		wantUntil time.Time
	}{
		{"stripe", hmacsign.Stripe, t0.Add(5 * time.Minute)},
		{"github", hmacsign.GitHub, t0.Add(time.Minute + 5*time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			guard := &countingGuard{inner: newGuard(t, 100, fixed(t0))}
			v := newVerifier(t, hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Scheme: tt.scheme, Now: fixed(t0.Add(time.Minute)), Replay: guard})
			m := sign(t, hmacsign.StaticKeys{key}, tt.scheme, t0, "", payload)
			m.ID = "" // as read from the wire
			_, err := v.Verify(ctx, "owner", m)
			is.NoErr(err) // the first delivery verifies
			first := guard.id
			_, err = v.Verify(ctx, "owner", m)
			is.True(errors.Is(err, hmacsign.ErrReplayed)) // the same signed message again is a replay
			is.True(guard.until.Equal(tt.wantUntil))      // remembered for the tolerance
			is.Equal(guard.id, first)                     // under the same id
			// The signature's one entry is the MAC, in hex after "=".
			is.Equal(first, "mac:"+m.Signature[strings.LastIndexByte(m.Signature, '=')+1:]) // an id made from the MAC

			other := sign(t, hmacsign.StaticKeys{key}, tt.scheme, t0, "", `{"type":"invoice.paid","id":"in_43"}`)
			other.ID = ""
			_, err = v.Verify(ctx, "owner", other)
			is.NoErr(err)                          // another id-less message is no replay
			is.True(guard.id != first)             // since it has an id of its own
			is.Equal(guard.calls.Load(), int64(3)) // the guard was asked each time
		})
	}
}

type brokenGuard struct{}

func (brokenGuard) Seen(context.Context, string, string, time.Time) (bool, error) {
	return false, context.DeadlineExceeded
}

func TestVerifierReplayGuardFails(t *testing.T) {
	is := is.New(t)
	key := newKey(t, "k", secretA, time.Time{})
	v := newVerifier(t, hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Now: fixed(t0), Replay: brokenGuard{}})
	_, err := v.Verify(t.Context(), "owner", sign(t, hmacsign.StaticKeys{key}, nil, t0, "msg_1", payload))
	is.True(errors.Is(err, context.DeadlineExceeded))      // the guard's error comes through
	is.True(!errors.Is(err, hmacsign.ErrInvalidSignature)) // and is no verdict on the signature
}

func TestMemoryReplayGuardConformance(t *testing.T) {
	replaytest.Run(t, func(t *testing.T) replaytest.Harness {
		clk := newClock(t0)
		return replaytest.Harness{Guard: newGuard(t, 0, clk.Now), Now: clk.Now, Advance: clk.Advance}
	})
}
