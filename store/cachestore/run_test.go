package cachestore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/cachestore"
	"github.com/rotorkit/rotor/store/memstore"
)

// feed is a memstore that keeps a change log and notifies, as sqlstore
// does on PostgreSQL, with the test deciding when notifications arrive
// and when listening fails. Make it inside the synctest bubble of the
// test that runs it: it reports, by the bubble's clock, when each poll
// and each Listen happens.
type feed struct {
	*memstore.Store
	start time.Time // when the feed was made

	mu         sync.Mutex
	log        []string // owners in the order they were saved
	changesErr error    // makes Changes fail while set
	listenErr  error    // makes Listen fail before it is ready while set

	notes   chan string        // delivered by Listen to its changed func
	cut     chan error         // makes a ready Listen return the error
	listens chan time.Duration // receives when each Listen began, since start
	ready   chan time.Duration // receives when each Listen was ready
	polls   chan time.Duration // receives when each Changes returned
	listen  bool               // whether Listen works; else ErrUnsupported
}

func newFeed(listen bool) *feed {
	return &feed{
		Store:   memstore.New(),
		start:   time.Now(),
		notes:   make(chan string),
		cut:     make(chan error),
		listens: make(chan time.Duration, 64),
		ready:   make(chan time.Duration, 64),
		polls:   make(chan time.Duration, 64),
		listen:  listen,
	}
}

var (
	_ store.ChangeLog = (*feed)(nil)
	_ store.Notifier  = (*feed)(nil)
)

func (f *feed) since() time.Duration { return time.Since(f.start) }

func (f *feed) Save(ctx context.Context, ks store.Keyset) error {
	if err := f.Store.Save(ctx, ks); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, ks.Owner)
	return nil
}

// Changes's cursor is how many saves the log held.
func (f *feed) Changes(ctx context.Context, cursor string) ([]string, string, error) {
	defer func() { f.polls <- f.since() }()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changesErr != nil {
		return nil, "", f.changesErr
	}
	next := strconv.Itoa(len(f.log))
	if cursor == "" {
		return nil, next, nil
	}
	n, err := strconv.Atoi(cursor)
	if err != nil {
		return nil, "", err
	}
	return append([]string(nil), f.log[n:]...), next, nil
}

func (f *feed) Listen(ctx context.Context, ready func(), changed func(string)) error {
	f.listens <- f.since()
	if !f.listen {
		return errors.ErrUnsupported
	}
	f.mu.Lock()
	err := f.listenErr
	f.mu.Unlock()
	if err != nil {
		return err
	}
	ready()
	f.ready <- f.since()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case owner := <-f.notes:
			changed(owner)
		case err := <-f.cut:
			return err
		}
	}
}

func (f *feed) failListen(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listenErr = err
}

func (f *feed) failChanges(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changesErr = err
}

// save saves a keyset of one record named after the owner and n, as
// another replica would.
func (f *feed) save(t *testing.T, owner string, n int) {
	t.Helper()
	ks, err := f.Load(t.Context(), owner)
	if err != nil {
		ks = store.Keyset{Owner: owner}
	}
	ks.Keys = []store.Record{record(owner + strconv.Itoa(n))}
	if err := f.Save(t.Context(), ks); err != nil {
		t.Fatal(err)
	}
}

// version loads owner through c and returns the version it sees.
func version(t *testing.T, c *cachestore.Store, owner string) int64 {
	t.Helper()
	ks, err := c.Load(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	return ks.Version
}

func TestPoll(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFeed(false)
	c, err := cachestore.New(f, &cachestore.Options{MaxAge: time.Hour})
	is.NoErr(err)
	inv := watch(c)
	f.save(t, "acme", 1)
	f.save(t, "globex", 1)
	is.Equal(version(t, c, "acme"), int64(1))

	is.NoErr(c.Poll(ctx))              // the first poll marks where to ask from
	is.Equal(inv.list(), []string{""}) // and drops every copy read before it
	is.Equal(version(t, c, "acme"), int64(1))
	is.Equal(version(t, c, "globex"), int64(1))

	f.save(t, "acme", 2)                      // another replica saves
	is.Equal(version(t, c, "acme"), int64(1)) // unseen until the next poll
	is.NoErr(c.Poll(ctx))
	is.Equal(inv.list(), []string{"", "acme"}) // the poll drops the owner saved, only
	is.Equal(version(t, c, "acme"), int64(2))  // which is then seen

	is.NoErr(c.Poll(ctx))
	is.Equal(len(inv.list()), 2) // a poll with nothing new drops nothing

	f.save(t, "globex", 2)
	f.save(t, "globex", 3)
	f.failChanges(errors.New("connection refused"))
	is.True(c.Poll(ctx) != nil)                 // a failed poll reports its error
	is.Equal(version(t, c, "globex"), int64(1)) // and drops nothing
	f.failChanges(nil)
	is.NoErr(c.Poll(ctx))
	is.Equal(inv.list(), []string{"", "acme", "globex"}) // the next poll catches up, once per owner
	is.Equal(version(t, c, "globex"), int64(3))
}

func TestNoChangesWithoutChangeLog(t *testing.T) {
	is := is.New(t)
	c, err := cachestore.New(memstore.New(), nil)
	is.NoErr(err)
	err = c.Poll(t.Context())
	is.True(errors.Is(err, cachestore.ErrNoChanges)) // a store without a change log cannot be polled
	is.True(errors.Is(err, errors.ErrUnsupported))   // which is an unsupported operation
	err = c.Run(t.Context())
	is.True(errors.Is(err, cachestore.ErrNoChanges)) // and Run returns at once
}

// start runs c.Run in a goroutine until stop, or the end of the test,
// and stop returns what Run returned.
func start(t *testing.T, c *cachestore.Store) (stop func() error) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel) // so that a failed test leaves no goroutine blocked
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
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
// before checking that nothing else happened.

func TestRunListensAndCatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		const retry = 5 * time.Second
		f := newFeed(true)
		c, err := cachestore.New(f, &cachestore.Options{
			MaxAge:       time.Hour,
			PollInterval: time.Hour, // polls happen only when listening starts
			ListenRetry:  retry,
		})
		is.NoErr(err)
		inv := watch(c)
		f.save(t, "acme", 1)

		stop := start(t, c)
		synctest.Wait()
		is.Equal(<-f.ready, time.Duration(0)) // Run listens at once
		is.Equal(<-f.polls, time.Duration(0)) // and polls at once
		is.Equal(<-f.polls, time.Duration(0)) // and again once listening, for saves made before
		is.Equal(len(f.polls), 0)             // and then waits
		is.Equal(inv.list(), []string{""})    // the first poll drops every copy; the second finds nothing new
		is.Equal(version(t, c, "acme"), int64(1))

		f.save(t, "acme", 2)
		f.notes <- "acme"
		synctest.Wait()
		is.Equal(inv.list(), []string{"", "acme"}) // a notification drops the owner it names
		is.Equal(version(t, c, "acme"), int64(2))  // whose change is then seen
		is.Equal(len(f.polls), 0)                  // without a poll

		f.cut <- errors.New("connection reset") // notifications stop
		f.save(t, "acme", 3)                    // and this save is not announced
		synctest.Wait()
		is.Equal(inv.list(), []string{"", "acme"}) // so nothing is dropped
		is.Equal(version(t, c, "acme"), int64(2))  // and the cached copy is served

		is.Equal(<-f.ready, retry) // Run listens again after ListenRetry
		synctest.Wait()
		is.Equal(<-f.polls, retry)                         // and polls at once
		is.Equal(len(f.polls), 0)                          // once
		is.Equal(inv.list(), []string{"", "acme", "acme"}) // which catches the save up
		is.Equal(version(t, c, "acme"), int64(3))

		is.True(errors.Is(stop(), context.Canceled)) // Run ends with its context
	})
}

func TestRunPollsWhenStoreCannotListen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		const interval = 2 * time.Second
		f := newFeed(false)
		c, err := cachestore.New(f, &cachestore.Options{MaxAge: time.Hour, PollInterval: interval})
		is.NoErr(err)
		inv := watch(c)
		f.save(t, "acme", 1)

		stop := start(t, c)
		synctest.Wait()
		is.Equal(<-f.listens, time.Duration(0)) // Run tries to listen
		is.Equal(<-f.polls, time.Duration(0))   // and polls at once, only once
		is.Equal(len(f.polls), 0)
		is.Equal(inv.list(), []string{""})
		is.Equal(version(t, c, "acme"), int64(1))

		f.save(t, "acme", 2)
		is.Equal(<-f.polls, interval) // the next poll comes after PollInterval
		synctest.Wait()
		is.Equal(inv.list(), []string{"", "acme"}) // and drops the owner saved elsewhere
		is.Equal(version(t, c, "acme"), int64(2))

		f.save(t, "acme", 3)
		f.failChanges(errors.New("connection refused"))
		is.Equal(<-f.polls, 2*interval) // a failed poll
		synctest.Wait()
		is.Equal(inv.list(), []string{"", "acme"}) // drops nothing
		f.failChanges(nil)
		is.Equal(<-f.polls, 3*interval) // and is made good at the next tick
		synctest.Wait()
		is.Equal(inv.list(), []string{"", "acme", "acme"})
		is.Equal(version(t, c, "acme"), int64(3))
		is.Equal(len(f.listens), 0) // a store that cannot listen is not asked again

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
		f := newFeed(true)
		f.failListen(errors.New("connection refused"))
		c, err := cachestore.New(f, &cachestore.Options{MaxAge: time.Hour, PollInterval: interval, ListenRetry: retry})
		is.NoErr(err)
		inv := watch(c)
		f.save(t, "acme", 1)

		stop := start(t, c)
		synctest.Wait()
		is.Equal(<-f.listens, time.Duration(0)) // Run tries to listen at once, and fails
		is.Equal(<-f.polls, time.Duration(0))   // it polls at once, only once
		is.Equal(len(f.polls), 0)
		is.Equal(version(t, c, "acme"), int64(1))

		is.Equal(<-f.listens, retry) // it tries again after ListenRetry
		synctest.Wait()              // and fails again,
		is.Equal(len(f.ready), 0)    // never having listened,
		is.Equal(len(f.polls), 0)    // so it makes no poll

		f.failListen(nil)
		f.save(t, "acme", 2)                       // while nobody listens
		is.Equal(<-f.listens, 2*retry)             // the third try, after ListenRetry again,
		is.Equal(<-f.ready, 2*retry)               // listens
		synctest.Wait()                            // and then
		is.Equal(<-f.polls, 2*retry)               // Run polls at once
		is.Equal(len(f.polls), 0)                  // once
		is.Equal(inv.list(), []string{"", "acme"}) // catching up on the save made meanwhile
		is.Equal(version(t, c, "acme"), int64(2))

		is.Equal(<-f.polls, interval) // polls still come every PollInterval from the start while it listens
		synctest.Wait()
		is.Equal(len(f.listens), 0) // with no other try to listen
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
		c, err := cachestore.New(notifyOnly{memstore.New()}, nil)
		is.NoErr(err)
		stop := start(t, c)
		synctest.Wait()                                     // Run has returned by itself, or waits for its context
		is.True(errors.Is(stop(), cachestore.ErrNoChanges)) // a Notifier that cannot listen, and no change log, is no way to hear of changes
	})
}
