package cachestore_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/cachestore"
	"github.com/rotorkit/rotor/store/memstore"
	"github.com/rotorkit/rotor/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		c, err := cachestore.New(memstore.New(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

func TestOptionsOutOfRange(t *testing.T) {
	for _, tt := range []struct {
		field string
		opts  cachestore.Options
	}{
		{"MaxAge", cachestore.Options{MaxAge: -1}},
		{"PollInterval", cachestore.Options{PollInterval: -time.Second}},
		{"ReloadInterval", cachestore.Options{ReloadInterval: -1}},
		{"ListenRetry", cachestore.Options{ListenRetry: -1}},
		{"MaxMisses", cachestore.Options{MaxMisses: -1}},
	} {
		t.Run(tt.field, func(t *testing.T) {
			is := is.New(t)
			c, err := cachestore.New(memstore.New(), &tt.opts)
			var oe *cachestore.OptionError
			is.True(errors.As(err, &oe)) // a negative option is refused with an *OptionError
			is.Equal(oe.Field, tt.field) // naming the field
			is.True(c == nil)            // and no Store
		})
	}
}

func TestLoadServesCopy(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, cachestore.Options{})
	is.NoErr(f.cache.Save(ctx, store.Keyset{Owner: "acme", Keys: []store.Record{record("a")}}))

	first, err := f.cache.Load(ctx, "acme")
	is.NoErr(err)
	first.Keys[0].Name = "scribbled" // must not reach the cached copy
	first.Keys = append(first.Keys, record("b"))
	second, err := f.cache.Load(ctx, "acme")
	is.NoErr(err)
	loads, _ := f.calls()
	is.Equal(loads, int64(1)) // the second load is served from the cache

	want, err := f.inner.Load(ctx, "acme")
	is.NoErr(err)
	if diff := cmp.Diff(want, second, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("cached keyset after the caller changed its copy (-want +got):\n%s", diff)
	}
}

func TestLoadUnknownOwnerNotCached(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, cachestore.Options{})
	for range 3 {
		_, err := f.cache.Load(ctx, "nobody")
		is.True(errors.Is(err, store.ErrNotFound)) // an unknown owner is not found
	}
	loads, _ := f.calls()
	is.Equal(loads, int64(3)) // and each load asks the store, so a new owner is seen at once
}

func TestLookupServedFromCache(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, cachestore.Options{})
	f.saveElsewhere(t, "acme", func(ks *store.Keyset) { ks.Keys = []store.Record{record("a"), record("b")} })

	m, err := f.cache.Lookup(ctx, digest("a"))
	owner, rec := m.Owner, m.Key
	is.NoErr(err)                 // a key the store knows is found at once
	is.Equal(owner, "acme")       // with its owner
	is.Equal(rec.ID, "a")         // and record
	loads, lookups := f.calls()   //
	is.Equal(lookups, int64(1))   // the first lookup asks the store
	is.Equal(loads, int64(1))     // and brings the owner's keyset into the cache
	rec.Scopes = []string{"root"} // must not reach the cached copy

	for range 10 {
		for _, id := range []string{"a", "b"} {
			m, err := f.cache.Lookup(ctx, digest(id))
			owner, rec := m.Owner, m.Key
			is.NoErr(err)
			is.Equal(owner, "acme")
			is.Equal(rec.ID, id)
			is.Equal(len(rec.Scopes), 0) // the cached record is not the caller's copy
		}
	}
	loads, lookups = f.calls()
	is.Equal(lookups, int64(1)) // later lookups, of either key, are served from memory
	is.Equal(loads, int64(1))
}

func TestMaxAgeBoundsStaleness(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	const maxAge = 10 * time.Second
	f := newFixture(t, cachestore.Options{MaxAge: maxAge})
	f.saveElsewhere(t, "acme", func(ks *store.Keyset) { ks.Keys = []store.Record{record("a")} })
	_, err := f.cache.Lookup(ctx, digest("a"))
	is.NoErr(err)

	// Another replica revokes the key; this cache is not told.
	f.saveElsewhere(t, "acme", func(ks *store.Keyset) { ks.Keys[0].RevokedAt = t0 })

	f.clock.Advance(maxAge - time.Nanosecond)
	m, err := f.cache.Lookup(ctx, digest("a"))
	rec := m.Key
	is.NoErr(err)
	is.True(rec.RevokedAt.IsZero()) // within MaxAge the cached copy may be served

	f.clock.Advance(time.Nanosecond)
	m, err = f.cache.Lookup(ctx, digest("a"))
	rec = m.Key
	is.NoErr(err)
	is.Equal(rec.RevokedAt, t0) // at MaxAge the copy is read again and the revocation seen
	ks, err := f.cache.Load(ctx, "acme")
	is.NoErr(err)
	is.Equal(ks.Version, int64(2)) // loads see the same fresh copy
}

func TestKeyCreatedElsewhereFoundAtOnce(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	const reload = 5 * time.Second
	f := newFixture(t, cachestore.Options{ReloadInterval: reload})
	f.saveElsewhere(t, "acme", func(ks *store.Keyset) { ks.Keys = []store.Record{record("a")} })
	_, err := f.cache.Lookup(ctx, digest("a"))
	is.NoErr(err)
	f.clock.Advance(reload)

	// Another replica creates a key: the cache's copy of acme lacks it.
	f.saveElsewhere(t, "acme", func(ks *store.Keyset) { ks.Keys = append(ks.Keys, record("b")) })
	m, err := f.cache.Lookup(ctx, digest("b"))
	owner, rec := m.Owner, m.Key
	is.NoErr(err) // a key created elsewhere is found at once
	is.Equal(owner, "acme")
	is.Equal(rec.ID, "b")
	loads, _ := f.calls()
	is.Equal(loads, int64(2)) // and the owner's copy, which lacked it, is read again

	// A flood of keys the copy lacks, all within ReloadInterval of that
	// read: each is found, and the owner is not read again.
	for i := range 50 {
		id := fmt.Sprintf("new-%d", i)
		f.saveElsewhere(t, "acme", func(ks *store.Keyset) { ks.Keys = append(ks.Keys, record(id)) })
		m, err := f.cache.Lookup(ctx, digest(id))
		rec := m.Key
		is.NoErr(err)         // every new key is found at once
		is.Equal(rec.ID, id)  //
		f.clock.Advance(50e6) // 50 keys over 2.5 s
	}
	loads, _ = f.calls()
	is.Equal(loads, int64(2)) // reloads are limited to one per ReloadInterval

	f.clock.Advance(reload)
	f.saveElsewhere(t, "acme", func(ks *store.Keyset) { ks.Keys = append(ks.Keys, record("late")) })
	_, err = f.cache.Lookup(ctx, digest("late"))
	is.NoErr(err)
	loads, _ = f.calls()
	is.Equal(loads, int64(3)) // once ReloadInterval has passed, the owner is read again

	_, lookups := f.calls()
	_, err = f.cache.Lookup(ctx, digest("new-7"))
	is.NoErr(err)
	_, after := f.calls()
	is.Equal(after, lookups) // and keys in that copy are served from memory again
}

func TestUnknownDigestRemembered(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	const ttl = 2 * time.Second
	f := newFixture(t, cachestore.Options{MissTTL: ttl})

	for range 5 {
		_, err := f.cache.Lookup(ctx, digest("made-up"))
		is.True(errors.Is(err, store.ErrNotFound)) // an unknown key is not found
		var oe *store.OpError
		is.True(errors.As(err, &oe)) // as a store error
		is.Equal(oe.Op, "lookup")
	}
	loads, lookups := f.calls()
	is.Equal(lookups, int64(1)) // only the first asks the store
	is.Equal(loads, int64(0))   // and none reads an owner

	f.clock.Advance(ttl)
	_, err := f.cache.Lookup(ctx, digest("made-up"))
	is.True(errors.Is(err, store.ErrNotFound))
	_, lookups = f.calls()
	is.Equal(lookups, int64(2)) // after MissTTL the store is asked again
}

func TestUnknownDigestsNotRemembered(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, cachestore.Options{MissTTL: -1})
	for range 3 {
		_, err := f.cache.Lookup(t.Context(), digest("made-up"))
		is.True(errors.Is(err, store.ErrNotFound))
	}
	_, lookups := f.calls()
	is.Equal(lookups, int64(3)) // a negative MissTTL asks the store every time
}

func TestRememberedMissesBounded(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, cachestore.Options{MaxMisses: 3})
	for _, name := range []string{"x1", "x2", "x3", "x4"} {
		_, err := f.cache.Lookup(ctx, digest(name))
		is.True(errors.Is(err, store.ErrNotFound))
	}
	_, before := f.calls()
	_, _ = f.cache.Lookup(ctx, digest("x4"))
	_, _ = f.cache.Lookup(ctx, digest("x2"))
	_, after := f.calls()
	is.Equal(after, before) // the latest three are remembered
	_, _ = f.cache.Lookup(ctx, digest("x1"))
	_, after = f.calls()
	is.Equal(after, before+1) // the oldest was forgotten to keep within MaxMisses
}

func TestSaveForgetsMiss(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, cachestore.Options{MissTTL: time.Hour})
	_, err := f.cache.Lookup(ctx, digest("a"))
	is.True(errors.Is(err, store.ErrNotFound)) // not yet created

	is.NoErr(f.cache.Save(ctx, store.Keyset{Owner: "acme", Keys: []store.Record{record("a")}}))
	m, err := f.cache.Lookup(ctx, digest("a"))
	owner := m.Owner
	is.NoErr(err) // a key saved through the cache is found, however recently it was unknown
	is.Equal(owner, "acme")
}

func TestSaveDropsOwnCopy(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, cachestore.Options{})
	inv := watch(f.cache)
	is.NoErr(f.cache.Save(ctx, store.Keyset{Owner: "acme", Keys: []store.Record{record("a")}}))
	ks, err := f.cache.Load(ctx, "acme")
	is.NoErr(err)

	ks.Keys[0].RevokedAt = t0
	is.NoErr(f.cache.Save(ctx, ks))
	m, err := f.cache.Lookup(ctx, digest("a"))
	rec := m.Key
	is.NoErr(err)
	is.Equal(rec.RevokedAt, t0) // the saving process sees its own change at once

	ks.Keys[0].Name = "lost the race"
	err = f.cache.Save(ctx, ks) // ks.Version is stale now
	is.True(errors.Is(err, store.ErrConflict))
	fresh, err := f.cache.Load(ctx, "acme")
	is.NoErr(err)
	is.Equal(fresh.Version, int64(2)) // after a conflict the next load reads the store, so a retry can win

	if diff := cmp.Diff([]string{"acme", "acme", "acme"}, inv.list()); diff != "" {
		t.Errorf("owners reported dropped, one per save (-want +got):\n%s", diff)
	}
}

// TestOtherReplicaSeenAfterInvalidate plays a change made elsewhere and
// then announced, as a poll or a notification does.
func TestOtherReplicaSeenAfterInvalidate(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, cachestore.Options{MaxAge: time.Hour})
	inv := watch(f.cache)
	f.saveElsewhere(t, "acme", func(ks *store.Keyset) { ks.Keys = []store.Record{record("a")} })
	f.saveElsewhere(t, "globex", func(ks *store.Keyset) { ks.Keys = []store.Record{record("g")} })
	for _, id := range []string{"a", "g"} {
		_, err := f.cache.Lookup(ctx, digest(id))
		is.NoErr(err)
	}
	f.saveElsewhere(t, "acme", func(ks *store.Keyset) { ks.Keys[0].RevokedAt = t0 })

	m, err := f.cache.Lookup(ctx, digest("a"))
	rec := m.Key
	is.NoErr(err)
	is.True(rec.RevokedAt.IsZero()) // unannounced, the change is not seen within MaxAge

	f.cache.Invalidate("acme")
	m, err = f.cache.Lookup(ctx, digest("a"))
	rec = m.Key
	is.NoErr(err)
	is.Equal(rec.RevokedAt, t0) // announced, it is seen at the next lookup
	_, lookups := f.calls()
	_, err = f.cache.Lookup(ctx, digest("g"))
	is.NoErr(err)
	_, after := f.calls()
	is.Equal(after, lookups) // other owners stay cached

	f.cache.InvalidateAll()
	_, err = f.cache.Lookup(ctx, digest("g"))
	is.NoErr(err)
	_, after = f.calls()
	is.Equal(after, lookups+1) // InvalidateAll drops every owner
	if diff := cmp.Diff([]string{"acme", ""}, inv.list()); diff != "" {
		t.Errorf("owners reported dropped (-want +got):\n%s", diff)
	}
}

// gatedLoads is a Store whose loads, while gated, read the keyset and
// then wait until released, so a test can change the store in between.
type gatedLoads struct {
	store.Store
	gated   atomic.Bool
	armed   chan struct{} // receives once per gated load, after it has read
	release chan struct{}
}

func (g *gatedLoads) Load(ctx context.Context, owner string) (store.Keyset, error) {
	ks, err := g.Store.Load(ctx, owner)
	if g.gated.Load() {
		g.armed <- struct{}{}
		<-g.release
	}
	return ks, err
}

// TestReadBeforeInvalidateNotKept has a load read an owner, then another
// replica change it and the cache hear of that, and only then the load
// store what it read: an older copy that must not be kept.
func TestReadBeforeInvalidateNotKept(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cached bool // whether an expired copy is cached when the load starts
	}{
		{"nothing cached", false},
		{"expired copy cached", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			inner := memstore.New()
			is.NoErr(inner.Save(ctx, store.Keyset{Owner: "acme", Keys: []store.Record{record("a")}}))
			g := &gatedLoads{Store: inner, armed: make(chan struct{}), release: make(chan struct{})}
			clock := rotationtest.NewClock(t0)
			c, err := cachestore.New(g, &cachestore.Options{MaxAge: time.Minute, Now: clock.Now})
			is.NoErr(err)
			if tt.cached {
				_, err := c.Load(ctx, "acme")
				is.NoErr(err)
				clock.Advance(time.Minute)
			}

			g.gated.Store(true)
			done := make(chan store.Keyset)
			go func() {
				ks, err := c.Load(ctx, "acme")
				if err != nil {
					t.Error(err)
				}
				done <- ks
			}()
			<-g.armed // the load has read version 1 and not yet stored it
			g.gated.Store(false)
			ks, err := inner.Load(ctx, "acme")
			is.NoErr(err)
			ks.Keys[0].RevokedAt = t0
			is.NoErr(inner.Save(ctx, ks)) // another replica saves version 2
			c.Invalidate("acme")          // and the cache hears of it
			close(g.release)
			is.Equal((<-done).Version, int64(1)) // the slow load returns what it read

			got, err := c.Load(ctx, "acme")
			is.NoErr(err)
			is.Equal(got.Version, int64(2)) // but did not store it over the invalidation
			m, err := c.Lookup(ctx, digest("a"))
			rec := m.Key
			is.NoErr(err)
			is.Equal(rec.RevokedAt, t0) // nor index its keys
		})
	}
}

// TestReadersNeverSeeHalfRefresh reads an owner while other goroutines
// save and drop it over and over. Every save holds the anchor key and
// exactly three records, so any read that shows fewer, or misses the
// anchor, saw a keyset being rebuilt.
func TestReadersNeverSeeHalfRefresh(t *testing.T) {
	ctx := t.Context()
	inner := memstore.New()
	c, err := cachestore.New(inner, &cachestore.Options{ReloadInterval: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	keyset := func(version int64, gen int) store.Keyset {
		return store.Keyset{Owner: "acme", Version: version, Keys: []store.Record{
			record("anchor"), record(fmt.Sprintf("g%d-1", gen)), record(fmt.Sprintf("g%d-2", gen)),
		}}
	}
	if err := inner.Save(ctx, keyset(0, 0)); err != nil {
		t.Fatal(err)
	}

	const rounds = 300
	var writers, readers sync.WaitGroup
	stop := make(chan struct{})
	writers.Go(func() {
		for gen := 1; gen <= rounds; gen++ {
			ks, err := c.Load(ctx, "acme")
			if err != nil {
				t.Error(err)
				return
			}
			if err := c.Save(ctx, keyset(ks.Version, gen)); err != nil && !errors.Is(err, store.ErrConflict) {
				t.Error(err)
				return
			}
		}
	})
	writers.Go(func() {
		for gen := range rounds {
			if gen%10 == 0 {
				c.InvalidateAll()
			} else {
				c.Invalidate("acme")
			}
		}
	})
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ks, err := c.Load(ctx, "acme")
				if err != nil || len(ks.Keys) != 3 || ks.Keys[0].ID != "anchor" {
					t.Errorf("load during refresh: %d records, err %v", len(ks.Keys), err)
					return
				}
				m, err := c.Lookup(ctx, digest("anchor"))
				owner := m.Owner
				if err != nil || owner != "acme" {
					t.Errorf("lookup of the anchor during refresh: owner %q, err %v", owner, err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
}

// failing is a Store whose lookups fail while down is set.
type failing struct {
	store.Store
	down bool
}

var errDown = errors.New("database unreachable")

func (f *failing) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	if f.down {
		return store.Match{}, &store.OpError{Op: "lookup", Err: errDown}
	}
	return f.Store.Lookup(ctx, d)
}

func TestFailedLookupNotRemembered(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	inner := &failing{Store: memstore.New(), down: true}
	c, err := cachestore.New(inner, &cachestore.Options{MissTTL: time.Hour})
	is.NoErr(err)
	is.NoErr(inner.Save(ctx, store.Keyset{Owner: "acme", Keys: []store.Record{record("a")}}))

	_, err = c.Lookup(ctx, digest("a"))
	is.True(errors.Is(err, errDown)) // the store's failure is reported as it is
	inner.down = false
	m, err := c.Lookup(ctx, digest("a"))
	owner := m.Owner
	is.NoErr(err) // and not remembered as an unknown key
	is.Equal(owner, "acme")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Lookup(canceled, digest("a"))
	is.True(errors.Is(err, context.Canceled)) // a done context is reported even for a cached key
}
