package rotation_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

// ticker is an Options.Wait that the test drives: each call tells the
// test how long it would wait, and returns once the test ticks, having
// stepped the clock by that long, or once ctx is done.
type ticker struct {
	clock   *rotationtest.Clock
	waiting chan time.Duration
	tick    chan struct{}
}

func newTicker() *ticker {
	return &ticker{waiting: make(chan time.Duration), tick: make(chan struct{})}
}

func (tk *ticker) wait(ctx context.Context, d time.Duration) error {
	select {
	case tk.waiting <- d:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-tk.tick:
		tk.clock.Advance(d)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startRun runs f.r.Run until the test ends, and returns the function
// that stops it and returns what Run returned.
func startRun(t *testing.T, f *fixture) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- f.r.Run(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return <-ran
	})
	t.Cleanup(func() { _ = stop() })
	return stop
}

// Run writes the recorded uses in batches, one every UseInterval, with
// the latest use of each value; no request writes, not even the first
// after the interval has passed, and a list shows every use at once.
func TestRunWritesBatches(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	tk := newTicker()
	f := newFixture(t, func(o *rotation.Options) { o.Wait = tk.wait })
	tk.clock = f.clock
	a := f.create(t, "acme", rotation.Spec{})
	b := f.create(t, "acme", rotation.Spec{})
	ra := f.regenerate(t, "acme", a.ID, time.Hour) // a has two values
	ip := func(n byte) rotation.Request { return rotation.Request{IP: netip.AddrFrom4([4]byte{192, 0, 2, n})} }
	stop := startRun(t, f)
	is.Equal(<-tk.waiting, time.Minute) // Run waits a UseInterval

	for i := range 100 {
		_, err := f.r.Authenticate(ctx, ra.Value.Reveal(), ip(byte(i)))
		is.NoErr(err)
	}
	got := f.get(t, "acme", a.ID)
	is.Equal(got.LastUsedAt, t0)                 // the latest use shows at once
	is.Equal(got.LastUsedIP, ip(0).IP)           // with its address: of uses in one instant the first stays, as a store keeps it
	is.Equal(got.Current.LastUsedIP, ip(0).IP)   // on the value used
	is.True(got.Previous[0].LastUsedAt.IsZero()) // and not on the other

	f.clock.Advance(90 * time.Second) // past the interval, with Run not yet woken
	for range 50 {
		_, err := f.r.Authenticate(ctx, a.Value.Reveal(), ip(7)) // the previous value
		is.NoErr(err)
		_, err = f.r.Authenticate(ctx, b.Value.Reveal(), ip(8))
		is.NoErr(err)
	}
	is.Equal(f.store.uses.Load(), int64(0)) // no request wrote, not even those after the interval
	got = f.get(t, "acme", a.ID)
	is.Equal(got.Previous[0].LastUsedIP, ip(7).IP) // each value shows its own use
	is.Equal(got.Current.LastUsedIP, ip(0).IP)
	is.Equal(got.LastUsedIP, ip(7).IP) // and the secret the latest of any

	tk.tick <- struct{}{}
	<-tk.waiting                              // Run has written and waits again
	is.Equal(f.store.uses.Load(), int64(1))   // one write for every use so far
	is.Equal(f.store.used.Load(), int64(1+2)) // with the latest use of each value used: a's two and b's
	ks := f.keyset(t, "acme")
	recA, recB := ks.Keys[ks.Find(a.ID)], ks.Keys[ks.Find(b.ID)]
	is.Equal(recA.LastUsedAt, t0.Add(90*time.Second)) // the store has a's latest use
	is.Equal(recA.LastUsedIP, ip(7).IP)
	is.Equal(recA.Previous[0].LastUsedIP, ip(7).IP) // on its previous value
	is.Equal(recA.Current.LastUsedAt, t0)           // and its current one's own
	is.Equal(recB.LastUsedIP, ip(8).IP)             // and b's
	is.Equal(ks.Version, int64(3))                  // uses never bump the version: three changes, three versions

	tk.tick <- struct{}{}
	<-tk.waiting
	is.Equal(f.store.uses.Load(), int64(1)) // a batch with no uses writes nothing

	is.NoErr(f.auth(t, b.Value))
	is.True(errors.Is(stop(), context.Canceled)) // Run returns its context's error when stopped
	is.Equal(f.store.uses.Load(), int64(1))      // leaving what came since
	is.NoErr(f.r.Flush(ctx))
	is.Equal(f.store.uses.Load(), int64(2)) // to Flush
	is.NoErr(f.r.Flush(ctx))
	is.Equal(f.store.uses.Load(), int64(2)) // which writes nothing when nothing is pending
}

// notifying tells of each batch of uses written.
type notifying struct {
	store.Store
	written chan int
}

func (n *notifying) RecordUses(ctx context.Context, uses []store.Use) error {
	err := n.Store.RecordUses(ctx, uses)
	n.written <- len(uses)
	return err
}

// With a negative UseInterval, Run writes each use as it comes, still
// apart from the request that made it.
func TestRunWritesEachUse(t *testing.T) {
	is := is.New(t)
	st := &notifying{Store: memstore.New(), written: make(chan int)}
	f := newFixtureOver(t, st, func(o *rotation.Options) { o.UseInterval = -1 })
	s := f.create(t, "acme", rotation.Spec{})
	startRun(t, f)
	for range 3 {
		is.NoErr(f.auth(t, s.Value))
		is.Equal(<-st.written, 1) // Run writes the use
		f.clock.Advance(time.Second)
	}
	is.Equal(f.store.uses.Load(), int64(3)) // one write per use
	is.Equal(f.keyset(t, "acme").Keys[0].LastUsedAt, t0.Add(2*time.Second))
}

// A batch Run cannot write is kept, and written with the next.
func TestRunKeepsAFailedBatch(t *testing.T) {
	is := is.New(t)
	tk := newTicker()
	broken := &brokenStore{Store: memstore.New()}
	var logs secretstest.Logs
	f := newFixtureOver(t, broken, func(o *rotation.Options) {
		o.Wait = tk.wait
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	tk.clock = f.clock
	s := f.create(t, "acme", rotation.Spec{})
	startRun(t, f)
	<-tk.waiting
	broken.uses.Store(true)
	is.NoErr(f.auth(t, s.Value))
	tk.tick <- struct{}{}
	<-tk.waiting
	is.True(strings.Contains(logs.String(), "recording uses failed")) // the failure is logged
	is.True(f.keyset(t, "acme").Keys[0].LastUsedAt.IsZero())          // nothing was written

	broken.uses.Store(false)
	tk.tick <- struct{}{}
	<-tk.waiting
	is.Equal(f.keyset(t, "acme").Keys[0].LastUsedAt, t0) // the next batch writes the use kept
}

// Without Run, no use is ever written but by Flush, however much time
// passes: uses are kept in memory, the latest of each value, up to
// MaxPendingUses values, and lists show them. Beyond the bound, uses of
// further values are dropped, and that is logged, once a minute at most.
func TestUsesWithoutRun(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	var logs secretstest.Logs
	f := newFixture(t, func(o *rotation.Options) {
		o.MaxPendingUses = 2
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	keys := []string{
		f.create(t, "acme", rotation.Spec{}).Value.Reveal(),
		f.create(t, "acme", rotation.Spec{}).Value.Reveal(),
		f.create(t, "acme", rotation.Spec{}).Value.Reveal(),
	}
	auth := func(key string) {
		t.Helper()
		_, err := f.r.Authenticate(ctx, key, rotation.Request{})
		is.NoErr(err) // a use that is dropped still authenticates
	}
	for range 10 {
		auth(keys[0])
		auth(keys[1])
		f.clock.Advance(time.Minute)
	}
	is.Equal(f.store.uses.Load(), int64(0)) // ten minutes of uses, and no write
	list := f.list(t, "acme")
	is.Equal(list[0].LastUsedAt, t0.Add(9*time.Minute)) // yet a list shows the latest use of each
	is.Equal(list[1].LastUsedAt, t0.Add(9*time.Minute))
	is.Equal(strings.Count(logs.String(), "dropping uses"), 0) // and nothing is dropped within the bound

	auth(keys[2])
	auth(keys[2])
	is.True(f.list(t, "acme")[2].LastUsedAt.IsZero())          // a third value's use is dropped
	is.Equal(strings.Count(logs.String(), "dropping uses"), 1) // and that is logged
	is.True(strings.Contains(logs.String(), "dropped=1"))      // once, for both
	f.clock.Advance(time.Minute)
	auth(keys[2])
	is.Equal(strings.Count(logs.String(), "dropping uses"), 2) // and again a minute later
	is.True(strings.Contains(logs.String(), "dropped=2"))      // counting the one not reported yet

	is.NoErr(f.r.Flush(ctx))
	is.Equal(f.store.uses.Load(), int64(1)) // Flush writes what is kept, in one batch
	is.Equal(f.store.used.Load(), int64(2))
	auth(keys[2])
	is.NoErr(f.r.Flush(ctx))
	is.Equal(f.keyset(t, "acme").Keys[2].LastUsedAt, t0.Add(11*time.Minute)) // and the bound holds again after it
}

// Run waits with package time when Options.Wait is nil. Inside a
// synctest bubble that time is the bubble's, so the minute passes at
// once.
func TestRunDefaultWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		st := &countingStore{Store: memstore.New()}
		r, err := rotation.New(st, nil)
		is.NoErr(err)
		s, err := r.Create(t.Context(), "acme", rotation.Spec{})
		is.NoErr(err)
		ctx, cancel := context.WithCancel(t.Context())
		ran := make(chan error, 1)
		go func() { ran <- r.Run(ctx) }()
		_, err = r.Authenticate(t.Context(), s.Value.Reveal(), rotation.Request{})
		is.NoErr(err)

		time.Sleep(time.Minute - time.Nanosecond) // the bubble's clock, not the test's
		synctest.Wait()
		is.Equal(st.uses.Load(), int64(0)) // nothing is written before the interval
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		is.Equal(st.uses.Load(), int64(1)) // and the batch once it has passed

		cancel()
		is.True(errors.Is(<-ran, context.Canceled)) // a Run that waits stops at once
	})
}

// slowUses is a store whose RecordUses waits for the test: it says when a
// batch has arrived, and writes it once the test lets it.
type slowUses struct {
	store.Store
	arrived, proceed chan struct{}
}

func (s *slowUses) RecordUses(ctx context.Context, uses []store.Use) error {
	s.arrived <- struct{}{}
	<-s.proceed
	return s.Store.RecordUses(ctx, uses)
}

// While a batch is on its way to the store, a list shows its uses, as it
// did before the batch was taken and does after it is written.
func TestUsesShownWhileWritten(t *testing.T) {
	is := is.New(t)
	st := &slowUses{Store: memstore.New(), arrived: make(chan struct{}), proceed: make(chan struct{})}
	f := newFixtureOver(t, st, nil)
	iss := f.create(t, "acme", rotation.Spec{})
	is.NoErr(f.auth(t, iss.Value))
	is.Equal(f.list(t, "acme")[0].LastUsedAt, t0) // shown before the write

	done := make(chan error, 1)
	go func() { done <- f.r.Flush(t.Context()) }()
	<-st.arrived
	is.Equal(f.list(t, "acme")[0].LastUsedAt, t0) // during it
	st.proceed <- struct{}{}
	is.NoErr(<-done)
	is.Equal(f.list(t, "acme")[0].LastUsedAt, t0) // and after it

	f.clock.Advance(time.Second)
	is.NoErr(f.auth(t, iss.Value))
	go func() { done <- f.r.Flush(t.Context()) }()
	<-st.arrived
	f.clock.Advance(time.Second)
	is.NoErr(f.auth(t, iss.Value)) // a later use while the batch is written
	st.proceed <- struct{}{}
	is.NoErr(<-done)
	is.Equal(f.list(t, "acme")[0].LastUsedAt, t0.Add(2*time.Second)) // stays to be written
	go func() { done <- f.r.Flush(t.Context()) }()
	<-st.arrived
	st.proceed <- struct{}{}
	is.NoErr(<-done)
	stored, err := st.Store.Load(t.Context(), "acme")
	is.NoErr(err)
	is.Equal(stored.Keys[0].Current.LastUsedAt, t0.Add(2*time.Second)) // and is, by the next write
}
