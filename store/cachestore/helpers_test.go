package cachestore_test

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/cachestore"
	"github.com/rotorkit/rotor/store/memstore"
)

var t0 = time.Date(2026, time.November, 23, 9, 0, 0, 0, time.UTC)

// digest returns a distinct digest for each name.
func digest(name string) secrets.Digest {
	return secrets.Digest(sha256.Sum256([]byte("cachestore test " + name)))
}

// record returns a key whose id is name, with one value whose digest is
// digest(name).
func record(name string) store.Record {
	return store.Record{
		ID:         name,
		Attributes: store.Attributes{Name: "key " + name, Format: "sk_live"},
		CreatedAt:  t0,
		Current:    store.Value{ID: name + ".v0", Hint: "abcd", Digest: digest(name), CreatedAt: t0},
	}
}

// counting is a Store that counts the calls that reach it.
type counting struct {
	store.Store
	loads, lookups atomic.Int64
}

func (c *counting) Load(ctx context.Context, owner string) (store.Keyset, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, owner)
}

func (c *counting) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	c.lookups.Add(1)
	return c.Store.Lookup(ctx, d)
}

// fixture is a cache over a counting memstore, with a clock to step.
// inner is the memstore itself: writing to it is a change made by
// another replica, which the cache does not hear of.
type fixture struct {
	cache *cachestore.Store
	count *counting
	inner *memstore.Store
	clock *rotationtest.Clock
}

func newFixture(t *testing.T, opts cachestore.Options) *fixture {
	t.Helper()
	f := &fixture{inner: memstore.New(), clock: rotationtest.NewClock(t0)}
	f.count = &counting{Store: f.inner}
	opts.Now = f.clock.Now
	c, err := cachestore.New(f.count, &opts)
	if err != nil {
		t.Fatal(err)
	}
	f.cache = c
	return f
}

// saveElsewhere changes the owner's keyset in the inner store, as another
// replica would: the cache is not told. change gets the stored keyset.
func (f *fixture) saveElsewhere(t *testing.T, owner string, change func(ks *store.Keyset)) {
	t.Helper()
	ks, err := f.inner.Load(t.Context(), owner)
	if err != nil {
		ks = store.Keyset{Owner: owner}
	}
	change(&ks)
	if err := f.inner.Save(t.Context(), ks); err != nil {
		t.Fatal(err)
	}
}

// calls returns how many loads and lookups reached the inner store.
func (f *fixture) calls() (loads, lookups int64) {
	return f.count.loads.Load(), f.count.lookups.Load()
}

// invalidations records the owners a cache reports dropping, in order.
// Tests compare the whole list, after making sure that whatever could
// drop an owner has finished, rather than wait for one owner to appear
// in it: an owner may be dropped more than once, by a poll and by a
// notification, and waiting for "the" drop may see the wrong one.
type invalidations struct {
	mu     sync.Mutex // guards owners
	owners []string
}

func watch(c *cachestore.Store) *invalidations {
	inv := new(invalidations)
	c.OnInvalidate(func(owner string) {
		inv.mu.Lock()
		defer inv.mu.Unlock()
		inv.owners = append(inv.owners, owner)
	})
	return inv
}

func (inv *invalidations) list() []string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return append([]string(nil), inv.owners...)
}
