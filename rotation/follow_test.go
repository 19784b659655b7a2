package rotation_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/store/memstore"
)

// seen lists the owner through the fixture's Rotator and returns the id
// of its one secret, which names the save of feed.save it sees.
func seen(t *testing.T, f *fixture, owner string) string {
	t.Helper()
	list := f.list(t, owner)
	if len(list) != 1 {
		t.Fatalf("%s has %d secrets; want 1", owner, len(list))
	}
	return list[0].ID
}

// loadsIn returns how many loads of the store do costs.
func (f *fixture) loadsIn(do func()) int64 {
	before := f.store.loads.Load()
	do()
	return f.store.loads.Load() - before
}

func TestPoll(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	fd := newFeed(false)
	f := newFixtureOver(t, fd, func(o *rotation.Options) { o.Cache.MaxAge = time.Hour })
	fd.save(t, "acme", 1)
	fd.save(t, "globex", 1)
	is.Equal(seen(t, f, "acme"), "acme1")
	is.Equal(seen(t, f, "globex"), "globex1")
	both := func() {
		is.Equal(seen(t, f, "acme"), "acme1")
		is.Equal(seen(t, f, "globex"), "globex1")
	}
	is.Equal(f.loadsIn(both), int64(0)) // both cached

	is.NoErr(f.r.Poll(ctx))             // the first poll marks where to ask from
	is.Equal(f.loadsIn(both), int64(2)) // and drops every keyset, all read before it

	fd.save(t, "acme", 2)                 // another process saves
	is.Equal(seen(t, f, "acme"), "acme1") // unseen until the next poll
	is.NoErr(f.r.Poll(ctx))
	is.Equal(f.loadsIn(func() { is.Equal(seen(t, f, "acme"), "acme2") }), int64(1))     // the poll drops the owner saved, which is then seen
	is.Equal(f.loadsIn(func() { is.Equal(seen(t, f, "globex"), "globex1") }), int64(0)) // and only it

	is.NoErr(f.r.Poll(ctx))
	is.Equal(f.loadsIn(func() { seen(t, f, "acme"); seen(t, f, "globex") }), int64(0)) // a poll with nothing new drops nothing

	fd.save(t, "globex", 2)
	fd.save(t, "globex", 3)
	fd.failChanges(errors.New("connection refused"))
	is.True(f.r.Poll(ctx) != nil)             // a failed poll reports its error
	is.Equal(seen(t, f, "globex"), "globex1") // and drops nothing
	fd.failChanges(nil)
	is.NoErr(f.r.Poll(ctx))
	is.Equal(f.loadsIn(func() { is.Equal(seen(t, f, "globex"), "globex3") }), int64(1)) // the next poll catches up
}

func TestNoChangesWithoutChangeLog(t *testing.T) {
	is := is.New(t)
	r, err := rotation.New(memstore.New(), nil)
	is.NoErr(err)
	err = r.Poll(t.Context())
	is.True(errors.Is(err, rotation.ErrNoChanges)) // a store without a change log cannot be polled
	is.True(errors.Is(err, errors.ErrUnsupported)) // which is an unsupported operation
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	is.True(errors.Is(r.Run(ctx), context.Canceled)) // Run goes on writing uses all the same, until stopped
}

// start runs r.Run in a goroutine until stop, or the end of the test,
// and stop returns what Run returned.
func start(t *testing.T, r *rotation.Rotator) (stop func() error) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel) // so that a failed test leaves no goroutine blocked
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// The tests of Run run it in a synctest bubble over a feed: time passes
// only when Run and the test are both blocked, so the test knows to the
// nanosecond when Run polls and listens. A test reads f.polls, f.ready
// or f.listens to wait for the next one, letting the bubble's clock run
// on to it, and calls synctest.Wait to let Run finish what it is doing
// before checking that nothing else happened. The Rotator's own clock,
// which bounds MaxAge, is the fixture's and does not move.

func TestRunListensAndCatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		const retry = 5 * time.Second
		fd := newFeed(true)
		f := newFixtureOver(t, fd, func(o *rotation.Options) {
			o.Cache = rotation.CacheOptions{
				MaxAge:       time.Hour,
				PollInterval: time.Hour, // polls happen only when listening starts
				ListenRetry:  retry,
			}
		})
		fd.save(t, "acme", 1)
		is.Equal(seen(t, f, "acme"), "acme1") // cached before Run starts

		stop := start(t, f.r)
		synctest.Wait()
		is.Equal(<-fd.ready, time.Duration(0))                       // Run listens at once
		is.Equal(<-fd.polls, time.Duration(0))                       // and polls at once
		is.Equal(<-fd.polls, time.Duration(0))                       // and again once listening, for saves made before
		is.Equal(len(fd.polls), 0)                                   // and then waits
		is.Equal(f.loadsIn(func() { seen(t, f, "acme") }), int64(1)) // the first poll dropped every keyset

		fd.save(t, "acme", 2)
		fd.notes <- "acme"
		synctest.Wait()
		is.Equal(f.loadsIn(func() { is.Equal(seen(t, f, "acme"), "acme2") }), int64(1)) // a notification drops the owner it names, whose change is then seen
		is.Equal(len(fd.polls), 0)                                                      // without a poll

		fd.cut <- errors.New("connection reset") // notifications stop, having come for no time at all
		fd.save(t, "acme", 3)                    // and this save is not announced
		synctest.Wait()
		is.Equal(seen(t, f, "acme"), "acme2") // so the cached keyset is served

		is.Equal(<-fd.ready, retry) // Run listens again after ListenRetry
		synctest.Wait()
		is.Equal(<-fd.polls, retry)           // and polls at once
		is.Equal(len(fd.polls), 0)            // once
		is.Equal(seen(t, f, "acme"), "acme3") // which catches the save up

		is.True(errors.Is(stop(), context.Canceled)) // Run ends with its context
	})
}

// Notifications that stop after coming for ListenRetry or more are
// listened for again at once: a connection cut once costs a reconnection,
// not ListenRetry of polling.
func TestRunListensAgainAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		const (
			retry    = 5 * time.Second
			interval = 10 * time.Second
		)
		fd := newFeed(true)
		f := newFixtureOver(t, fd, func(o *rotation.Options) {
			o.Cache = rotation.CacheOptions{MaxAge: time.Hour, PollInterval: interval, ListenRetry: retry}
		})
		fd.save(t, "acme", 1)
		stop := start(t, f.r)
		synctest.Wait()
		is.Equal(<-fd.ready, time.Duration(0))
		is.Equal(<-fd.polls, time.Duration(0))
		is.Equal(<-fd.polls, time.Duration(0))
		is.Equal(seen(t, f, "acme"), "acme1")

		is.Equal(<-fd.polls, interval) // the bubble's clock runs on to the next tick
		// A save of which no notification comes, since the connection is
		// cut before it could: saved first, so that the poll below cannot
		// run before it, whatever the order the bubble runs them in.
		fd.save(t, "acme", 2)
		fd.cut <- errors.New("terminating connection due to administrator command")
		is.Equal(<-fd.ready, interval) // notifications had come for longer than ListenRetry: Run listens again at once
		synctest.Wait()
		is.Equal(<-fd.polls, interval) // and polls at once
		is.Equal(seen(t, f, "acme"), "acme2")

		fd.cut <- errors.New("connection reset") // cut again at once
		is.Equal(<-fd.ready, interval+retry)     // this time Run waits ListenRetry: the store may be failing
		is.True(errors.Is(stop(), context.Canceled))
	})
}

func TestRunPollsWhenStoreCannotListen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		const interval = 2 * time.Second
		fd := newFeed(false)
		f := newFixtureOver(t, fd, func(o *rotation.Options) {
			o.Cache = rotation.CacheOptions{MaxAge: time.Hour, PollInterval: interval}
		})
		fd.save(t, "acme", 1)

		stop := start(t, f.r)
		synctest.Wait()
		is.Equal(<-fd.listens, time.Duration(0)) // Run tries to listen
		is.Equal(<-fd.polls, time.Duration(0))   // and polls at once, only once
		is.Equal(len(fd.polls), 0)
		is.Equal(seen(t, f, "acme"), "acme1")

		fd.save(t, "acme", 2)
		is.Equal(<-fd.polls, interval) // the next poll comes after PollInterval
		synctest.Wait()
		is.Equal(seen(t, f, "acme"), "acme2") // and drops the owner saved elsewhere

		fd.save(t, "acme", 3)
		fd.failChanges(errors.New("connection refused"))
		is.Equal(<-fd.polls, 2*interval) // a failed poll
		synctest.Wait()
		is.Equal(seen(t, f, "acme"), "acme2") // drops nothing
		fd.failChanges(nil)
		is.Equal(<-fd.polls, 3*interval) // and is made good at the next tick
		synctest.Wait()
		is.Equal(seen(t, f, "acme"), "acme3")
		is.Equal(len(fd.listens), 0) // a store that cannot listen is not asked again

		is.True(errors.Is(stop(), context.Canceled))
	})
}

func TestRunRetriesListen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		const (
			retry    = 3 * time.Second
			interval = 10 * time.Second
		)
		fd := newFeed(true)
		fd.failListen(errors.New("connection refused"))
		f := newFixtureOver(t, fd, func(o *rotation.Options) {
			o.Cache = rotation.CacheOptions{MaxAge: time.Hour, PollInterval: interval, ListenRetry: retry}
		})
		fd.save(t, "acme", 1)

		stop := start(t, f.r)
		synctest.Wait()
		is.Equal(<-fd.listens, time.Duration(0)) // Run tries to listen at once, and fails
		is.Equal(<-fd.polls, time.Duration(0))   // it polls at once, only once
		is.Equal(len(fd.polls), 0)
		is.Equal(seen(t, f, "acme"), "acme1")

		is.Equal(<-fd.listens, retry) // it tries again after ListenRetry
		synctest.Wait()               // and fails again,
		is.Equal(len(fd.ready), 0)    // never having listened,
		is.Equal(len(fd.polls), 0)    // so it makes no poll

		fd.failListen(nil)
		fd.save(t, "acme", 2)                 // while nobody listens
		is.Equal(<-fd.listens, 2*retry)       // the third try, after ListenRetry again,
		is.Equal(<-fd.ready, 2*retry)         // listens
		synctest.Wait()                       // and then
		is.Equal(<-fd.polls, 2*retry)         // Run polls at once
		is.Equal(len(fd.polls), 0)            // once
		is.Equal(seen(t, f, "acme"), "acme2") // catching up on the save made meanwhile

		is.Equal(<-fd.polls, interval) // polls still come every PollInterval from the start while it listens
		synctest.Wait()
		is.Equal(len(fd.listens), 0) // with no other try to listen
		is.True(errors.Is(stop(), context.Canceled))
	})
}

// notifyOnly is a Store that is a [store.Notifier] but keeps no
// [store.ChangeLog], with a Listen that cannot listen.
type notifyOnly struct{ *memstore.Store }

func (notifyOnly) Listen(context.Context, func(), func(string)) error {
	return fmt.Errorf("not configured to notify: %w", errors.ErrUnsupported)
}

func TestRunWithNeitherListenNorChangeLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		r, err := rotation.New(notifyOnly{memstore.New()}, nil)
		is.NoErr(err)
		stop := start(t, r)
		synctest.Wait()                              // Run follows nothing: a Notifier that cannot listen, and no change log, is no way to hear of changes
		is.True(errors.Is(stop(), context.Canceled)) // but it writes uses until it is stopped
	})
}
