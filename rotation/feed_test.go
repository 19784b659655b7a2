package rotation_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

// feed is a memstore that keeps a change log and notifies, as sqlstore
// does on PostgreSQL, with the test deciding when notifications arrive
// and when listening fails. A test of Run makes it inside the synctest
// bubble that runs Run: it reports, by the bubble's clock, when each poll
// and each Listen happens.
type feed struct {
	*memstore.Store
	start time.Time // when the feed was made

	mu         sync.Mutex // guards the fields below
	log        []string   // owners in the order they were saved
	changesErr error      // makes Changes fail while set
	listenErr  error      // makes Listen fail before it is ready while set

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
	defer func() {
		select {
		case f.polls <- f.since():
		default: // a test that does not watch polls
		}
	}()
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

// save saves, as another process would, a keyset of one record whose id
// is the owner and n, so that a list shows which save it sees.
func (f *feed) save(t *testing.T, owner string, n int) {
	t.Helper()
	ks, err := f.Load(t.Context(), owner)
	if err != nil {
		ks = store.Keyset{Owner: owner}
	}
	id := owner + strconv.Itoa(n)
	ks.Keys = []store.Record{{
		ID:         id,
		Attributes: store.Attributes{Name: "key " + id, Format: rotation.DefaultFormat},
		CreatedAt:  t0,
		Current:    store.Value{ID: id + ".v0", Hint: "abcd", Digest: secrets.Digest(sha256.Sum256([]byte(id))), CreatedAt: t0},
	}}
	if err := f.Save(t.Context(), ks); err != nil {
		t.Fatal(err)
	}
}
