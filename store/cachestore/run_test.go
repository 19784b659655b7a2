package cachestore_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/cachestore"
	"github.com/rotorkit/rotor/store/memstore"
)

// feed is a memstore that keeps a change log and notifies, as sqlstore
// does on PostgreSQL, with the test deciding when notifications arrive
// and when listening fails.
type feed struct {
	*memstore.Store

	mu         sync.Mutex
	log        []string // owners in the order they were saved
	changesErr error    // makes Changes fail while set

	notes  chan string   // delivered by Listen to its changed func
	cut    chan error    // makes Listen return the error
	ready  chan struct{} // receives each time Listen is ready
	listen bool          // whether Listen works; else ErrUnsupported
}

func newFeed(listen bool) *feed {
	return &feed{
		Store:  memstore.New(),
		notes:  make(chan string),
		cut:    make(chan error),
		ready:  make(chan struct{}, 16),
		listen: listen,
	}
}

var (
	_ store.ChangeLog = (*feed)(nil)
	_ store.Notifier  = (*feed)(nil)
)

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
	if !f.listen {
		return errors.ErrUnsupported
	}
	ready()
	f.ready <- struct{}{}
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
	ks.Secrets = []store.Record{record(owner + strconv.Itoa(n))}
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

func TestRunListensAndCatchesUp(t *testing.T) {
	is := is.New(t)
	f := newFeed(true)
	c, err := cachestore.New(f, &cachestore.Options{
		MaxAge:       time.Hour,
		PollInterval: time.Hour, // polls happen only when listening resumes
		ListenRetry:  time.Millisecond,
	})
	is.NoErr(err)
	inv := watch(c)
	f.save(t, "acme", 1)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	<-f.ready
	inv.waitFor(t, "") // the first poll drops every copy

	is.Equal(version(t, c, "acme"), int64(1))
	f.save(t, "acme", 2)
	f.notes <- "acme"
	inv.waitFor(t, "acme")                    // a notification drops the owner it names
	is.Equal(version(t, c, "acme"), int64(2)) // whose change is then seen

	f.cut <- errors.New("connection reset") // notifications stop
	f.save(t, "acme", 3)                    // and this save is not announced
	<-f.ready                               // Run listens again after ListenRetry
	inv.waitFor(t, "acme")                  // and polls, which catches the save up
	is.Equal(version(t, c, "acme"), int64(3))

	cancel()
	is.True(errors.Is(<-done, context.Canceled)) // Run ends with its context
}

func TestRunPollsWhenStoreCannotListen(t *testing.T) {
	is := is.New(t)
	f := newFeed(false)
	c, err := cachestore.New(f, &cachestore.Options{MaxAge: time.Hour, PollInterval: time.Millisecond})
	is.NoErr(err)
	inv := watch(c)
	f.save(t, "acme", 1)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	inv.waitFor(t, "")
	is.Equal(version(t, c, "acme"), int64(1))
	f.save(t, "acme", 2)
	inv.waitFor(t, "acme") // a later poll drops the owner saved elsewhere
	is.Equal(version(t, c, "acme"), int64(2))
	cancel()
	is.True(errors.Is(<-done, context.Canceled))
}
