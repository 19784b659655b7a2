package rotation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

// The tests in this file check the Rotator's cache of keysets from
// outside: through what reaches the store (the fixture's countingStore)
// and what a caller is shown. Another Rotator over the same store, made
// with f.fresh, stands for another process: the fixture's Rotator is not
// told of what it saves, unless the store is a feed and the test polls.

// made returns a well-formed key in the default format that no store
// knows: its checksum is valid, as anyone can make it.
func made(t testing.TB) string {
	t.Helper()
	v, err := rotation.DefaultFormat.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return v.Reveal()
}

// calls returns how many loads and lookups reached the fixture's store.
func (f *fixture) calls() (loads, lookups int64) {
	return f.store.loads.Load(), f.store.lookups.Load()
}

func TestCacheServesCopies(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	s := f.fresh(t) // made it elsewhere, so that this Rotator reads it
	iss, err := s.Create(ctx, "acme", rotation.Spec{Scopes: []string{"read"}, Metadata: map[string]string{"team": "ci"}})
	is.NoErr(err)

	first := f.list(t, "acme")
	first[0].Scopes[0] = "root" // must not reach the cached keyset
	first[0].Metadata["team"] = "scribbled"
	p, err := f.r.Authenticate(ctx, iss.Value.Reveal(), rotation.Request{})
	is.NoErr(err)
	p.Secret.Scopes[0] = "root" // nor this
	second := f.list(t, "acme")
	loads, lookups := f.calls()
	is.Equal(loads, int64(1))   // the owner is read once
	is.Equal(lookups, int64(0)) // and its key found in what was read
	is.Equal(second[0].Scopes, []string{"read"})
	is.Equal(second[0].Metadata, map[string]string{"team": "ci"}) // what callers were given is theirs
}

func TestCacheUnknownOwnerNotCached(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	for range 3 {
		is.Equal(len(f.list(t, "nobody")), 0) // an unknown owner has no secrets
	}
	loads, _ := f.calls()
	is.Equal(loads, int64(3)) // and each list asks the store, so that the owner is seen once it exists

	_, err := f.fresh(t).Create(ctx, "nobody", rotation.Spec{})
	is.NoErr(err)
	is.Equal(len(f.list(t, "nobody")), 1) // as it is, at once
}

func TestAuthenticateServedFromCache(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	elsewhere := f.fresh(t)
	a, err := elsewhere.Create(ctx, "acme", rotation.Spec{})
	is.NoErr(err)
	b, err := elsewhere.Create(ctx, "acme", rotation.Spec{})
	is.NoErr(err)

	is.NoErr(f.auth(t, a.Value)) // a key made elsewhere is found at once
	loads, lookups := f.calls()
	is.Equal(lookups, int64(1)) // by asking the store
	is.Equal(loads, int64(1))   // which brings its owner into the cache
	for range 10 {
		for _, v := range []secrets.Value{a.Value, b.Value} {
			is.NoErr(f.auth(t, v))
		}
	}
	loads, lookups = f.calls()
	is.Equal(lookups, int64(1)) // later keys of the owner, either one, are found in memory
	is.Equal(loads, int64(1))
}

func TestMaxAgeBoundsStaleness(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	const maxAge = 10 * time.Second
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxAge = maxAge })
	elsewhere := f.fresh(t)
	_, err := elsewhere.Create(ctx, "acme", rotation.Spec{HMAC: true}) // designated: cannot be revoked
	is.NoErr(err)
	iss, err := elsewhere.Create(ctx, "acme", rotation.Spec{})
	is.NoErr(err)
	is.NoErr(f.auth(t, iss.Value)) // cached at t0

	is.NoErr(elsewhere.Revoke(ctx, "acme", iss.ID)) // this Rotator is not told
	f.clock.Advance(maxAge - time.Nanosecond)
	is.NoErr(f.auth(t, iss.Value)) // within MaxAge the cached keyset may be served
	f.clock.Advance(time.Nanosecond)
	is.True(errors.Is(f.auth(t, iss.Value), rotation.ErrRevoked))     // at MaxAge it is read again, and the revocation seen
	is.Equal(f.get(t, "acme", iss.ID).Status, rotation.StatusRevoked) // by lists too
}

// slowLoads is a store whose loads take a while by the test's clock: each
// reads the keyset and then steps the clock by the time it took, so that
// the read ends long after it began.
type slowLoads struct {
	store.Store
	clock *rotationtest.Clock
	took  time.Duration
}

func (s *slowLoads) Load(ctx context.Context, owner string) (store.Keyset, error) {
	ks, err := s.Store.Load(ctx, owner)
	s.clock.Advance(s.took)
	return ks, err
}

// MaxAge counts from the start of the read that filled the cache: a
// change committed while a slow read ran is not in what it read, so a
// bound counted from its end would serve that read for longer than
// MaxAge after the change.
func TestMaxAgeCountsFromReadStart(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	const maxAge, took = 30 * time.Second, 25 * time.Second
	mem := memstore.New()
	f := newFixtureOver(t, mem, nil) // the writer
	f.create(t, "acme", rotation.Spec{HMAC: true})
	iss := f.create(t, "acme", rotation.Spec{})
	slow := &slowLoads{Store: mem, clock: f.clock, took: took}
	reader, err := rotation.New(slow, &rotation.Options{Now: f.clock.Now, Cache: rotation.CacheOptions{MaxAge: maxAge}})
	is.NoErr(err)

	_, err = reader.List(ctx, "acme") // read from t0 to t0+25s
	is.NoErr(err)
	is.NoErr(f.r.Revoke(ctx, "acme", iss.ID)) // at t0+25s, just after the read
	slow.took = 0
	auth := func() error {
		_, err := reader.Authenticate(ctx, iss.Value.Reveal(), rotation.Request{})
		return err
	}
	f.clock.Set(t0.Add(maxAge - time.Nanosecond))
	is.NoErr(auth()) // within MaxAge of the read's start, the keyset read may be served
	f.clock.Set(t0.Add(maxAge))
	is.True(errors.Is(auth(), rotation.ErrRevoked)) // MaxAge after it began, it is read again: 5 s after the revocation, not 30
}

func TestKeyCreatedElsewhereFoundAtOnce(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxActive = 60 })
	elsewhere, err := rotation.New(f.store.Store, &rotation.Options{Now: f.clock.Now, Policy: rotation.Policy{MaxActive: 60}})
	is.NoErr(err)
	first, err := elsewhere.Create(ctx, "acme", rotation.Spec{})
	is.NoErr(err)
	is.NoErr(f.auth(t, first.Value)) // the owner's keyset is cached

	// Another process creates keys: the cached keyset lacks each of them.
	var created []secrets.Value
	for range 50 {
		iss, err := elsewhere.Create(ctx, "acme", rotation.Spec{})
		is.NoErr(err)
		created = append(created, iss.Value)
		is.NoErr(f.auth(t, iss.Value)) // and each is found at once
	}
	loads, lookups := f.calls()
	is.Equal(lookups, int64(1+50)) // by asking the store
	is.Equal(loads, int64(1+50))   // which shows the cached keyset stale: it is read again
	for _, v := range append(created, first.Value) {
		is.NoErr(f.auth(t, v))
	}
	loads2, lookups2 := f.calls()
	is.Equal(lookups2, lookups) // and then every key of it is found in memory
	is.Equal(loads2, loads)
}

func TestUnknownKeyRemembered(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	const ttl = 2 * time.Second
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MissTTL = ttl })
	key := made(t)
	for range 5 {
		_, err := f.r.Authenticate(ctx, key, rotation.Request{})
		is.True(errors.Is(err, rotation.ErrInvalidKey)) // an unknown key is invalid
		var aerr *rotation.AuthError
		is.True(errors.As(err, &aerr)) // a refusal
	}
	loads, lookups := f.calls()
	is.Equal(lookups, int64(1)) // only the first asks the store
	is.Equal(loads, int64(0))   // and none reads an owner

	f.clock.Advance(ttl)
	_, err := f.r.Authenticate(ctx, key, rotation.Request{})
	is.True(errors.Is(err, rotation.ErrInvalidKey))
	_, lookups = f.calls()
	is.Equal(lookups, int64(2)) // after MissTTL the store is asked again
}

func TestUnknownKeysNotRemembered(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MissTTL = -1 })
	key := made(t)
	for range 3 {
		_, err := f.r.Authenticate(t.Context(), key, rotation.Request{})
		is.True(errors.Is(err, rotation.ErrInvalidKey))
	}
	_, lookups := f.calls()
	is.Equal(lookups, int64(3)) // a negative MissTTL asks the store every time
}

func TestRememberedMissesBounded(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxMisses = 3 })
	keys := []string{made(t), made(t), made(t), made(t)}
	try := func(key string) {
		_, err := f.r.Authenticate(ctx, key, rotation.Request{})
		is.True(errors.Is(err, rotation.ErrInvalidKey))
	}
	for _, k := range keys {
		try(k)
	}
	_, before := f.calls()
	try(keys[3])
	try(keys[1])
	_, after := f.calls()
	is.Equal(after, before) // the latest three are remembered
	try(keys[0])
	_, after = f.calls()
	is.Equal(after, before+1) // the oldest was forgotten to keep within MaxMisses
}

// A change this Rotator saves is seen at once by its reads, without a
// read of the store; one that loses every compare-and-swap, or whose
// answer is lost, leaves the cache to read the store again.
func TestOwnChangesSeenAtOnce(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	f.create(t, "acme", rotation.Spec{HMAC: true})
	iss := f.create(t, "acme", rotation.Spec{})
	is.NoErr(f.auth(t, iss.Value))
	loads, lookups := f.calls()

	is.NoErr(f.r.Revoke(ctx, "acme", iss.ID))
	after, afterLookups := f.calls()
	is.Equal(after, loads+1)                                          // the change read the store itself
	is.True(errors.Is(f.auth(t, iss.Value), rotation.ErrRevoked))     // and the revocation holds at once
	is.Equal(f.get(t, "acme", iss.ID).Status, rotation.StatusRevoked) // everywhere
	loads, _ = f.calls()
	is.Equal(loads, after)          // from what was saved, with no read
	is.Equal(afterLookups, lookups) // nor lookup
	is.Equal(f.version(t, "acme"), int64(3))
}

// A change refused on what the store holds (a stale value, a limit
// reached) leaves the cache showing what it was refused on, even before
// this Rotator hears of the change that made it so.
func TestRefusedChangeRefreshesCache(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	iss := f.create(t, "acme", rotation.Spec{})
	res, err := f.fresh(t).Regenerate(ctx, "acme", iss.ID, 0) // elsewhere
	is.NoErr(err)
	is.Equal(f.get(t, "acme", iss.ID).Current.ID, iss.Current.ID) // unheard of, the cached value stands

	_, err = f.r.RegenerateIf(ctx, "acme", iss.ID, iss.Current.ID, 0)
	is.True(errors.Is(err, rotation.ErrStale))                       // a caller told the value is stale
	is.Equal(f.get(t, "acme", iss.ID).Current.ID, res.Current.ID)    // lists the value that replaced it
	is.True(errors.Is(f.auth(t, iss.Value), rotation.ErrInvalidKey)) // and the stale value no longer works here
}

// A change made elsewhere and then announced, as a poll or a notification
// does, is seen at the next read; other owners stay cached.
func TestOtherProcessSeenAfterPoll(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	feed := newFeed(false)
	f := newFixtureOver(t, feed, func(o *rotation.Options) { o.Cache.MaxAge = time.Hour })
	is.NoErr(f.r.Poll(ctx)) // marks where the next poll asks from
	elsewhere := f.fresh(t)
	_, err := elsewhere.Create(ctx, "acme", rotation.Spec{HMAC: true}) // designated: cannot be revoked
	is.NoErr(err)
	a, err := elsewhere.Create(ctx, "acme", rotation.Spec{})
	is.NoErr(err)
	g, err := elsewhere.Create(ctx, "globex", rotation.Spec{})
	is.NoErr(err)
	for _, v := range []secrets.Value{a.Value, g.Value} {
		is.NoErr(f.auth(t, v))
	}
	is.NoErr(f.r.Poll(ctx)) // reports the creations: both owners are read again
	for _, v := range []secrets.Value{a.Value, g.Value} {
		is.NoErr(f.auth(t, v))
	}
	is.NoErr(elsewhere.Revoke(ctx, "acme", a.ID))
	is.NoErr(f.auth(t, a.Value)) // unannounced, the change is not seen within MaxAge

	is.NoErr(f.r.Poll(ctx))
	is.True(errors.Is(f.auth(t, a.Value), rotation.ErrRevoked)) // announced, it is seen at the next read
	loads, lookups := f.calls()
	is.NoErr(f.auth(t, g.Value))
	loads2, lookups2 := f.calls()
	is.Equal(loads2, loads) // other owners stay cached
	is.Equal(lookups2, lookups)
}

// gatedLoads is a feed whose next load, once armed, reads the keyset and
// then waits until released, so that a test can change the store, and
// tell the Rotator so, in between.
type gatedLoads struct {
	*feed
	armed   atomic.Bool
	read    chan struct{} // receives once the armed load has read
	release chan struct{}
}

func newGatedLoads(f *feed) *gatedLoads {
	return &gatedLoads{feed: f, read: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedLoads) Load(ctx context.Context, owner string) (store.Keyset, error) {
	ks, err := g.feed.Load(ctx, owner)
	if g.armed.CompareAndSwap(true, false) {
		g.read <- struct{}{}
		<-g.release
	}
	return ks, err
}

// TestSlowReadNeverCachedOverNewer has a read of an owner read version 1
// and then wait, while the store moves to version 2 and this Rotator
// learns of it, or serves it, in each way it can; only then does the
// slow read offer what it read. It must return that to its caller, and
// never leave it cached: once version 2 is known here, no read shows an
// older one again. This is the race that let a revoked key flip back to
// accepted.
func TestSlowReadNeverCachedOverNewer(t *testing.T) {
	for _, race := range []struct {
		name      string
		maxOwners int // of r; 0 for the default
		// meanwhile moves the store to version 2 while the slow read
		// waits, making it known to r as the race says.
		meanwhile func(t *testing.T, f *fixture, r *rotation.Rotator, revoke func(*rotation.Rotator))
	}{
		{"saved here", 0, func(t *testing.T, f *fixture, r *rotation.Rotator, revoke func(*rotation.Rotator)) {
			revoke(r) // installs version 2
		}},
		{"saved elsewhere, then polled", 0, func(t *testing.T, f *fixture, r *rotation.Rotator, revoke func(*rotation.Rotator)) {
			revoke(f.fresh(t))
			if err := r.Poll(t.Context()); err != nil {
				t.Fatal(err)
			}
		}},
		{"saved elsewhere, then read by another call", 0, func(t *testing.T, f *fixture, r *rotation.Rotator, revoke func(*rotation.Rotator)) {
			revoke(f.fresh(t))
			if _, err := r.List(t.Context(), "acme"); err != nil { // nothing fresh cached: reads version 2, and serves it
				t.Fatal(err)
			}
		}},
		{"saved elsewhere, read by another call, then evicted", 1, func(t *testing.T, f *fixture, r *rotation.Rotator, revoke func(*rotation.Rotator)) {
			revoke(f.fresh(t))
			for _, owner := range []string{"acme", "globex"} { // version 2 served, then dropped for another owner
				if _, err := r.List(t.Context(), owner); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		for _, cached := range []bool{false, true} {
			name := race.name + "/nothing cached"
			if cached {
				name = race.name + "/expired copy cached"
			}
			t.Run(name, func(t *testing.T) {
				is := is.New(t)
				ctx := t.Context()
				feed := newFeed(false)
				f := newFixtureOver(t, feed, nil)
				f.create(t, "acme", rotation.Spec{HMAC: true})
				iss := f.create(t, "acme", rotation.Spec{})
				f.create(t, "globex", rotation.Spec{})
				gate := newGatedLoads(feed)
				r, err := rotation.New(gate, &rotation.Options{Now: f.clock.Now, Keyring: f.ring,
					Cache: rotation.CacheOptions{MaxAge: time.Minute, MaxOwners: race.maxOwners}})
				is.NoErr(err)
				is.NoErr(r.Poll(ctx)) // marks where polls ask from
				if cached {
					_, err := r.List(ctx, "acme")
					is.NoErr(err)
					f.clock.Advance(time.Minute) // the copy expires
				}
				version := f.version(t, "acme")

				gate.armed.Store(true)
				slow := make(chan []rotation.Secret)
				go func() {
					list, err := r.List(ctx, "acme")
					if err != nil {
						t.Error(err)
					}
					slow <- list
				}()
				<-gate.read // the slow read has read and not yet offered what it read
				race.meanwhile(t, f, r, func(by *rotation.Rotator) {
					if err := by.Revoke(ctx, "acme", iss.ID); err != nil {
						t.Fatal(err)
					}
				})
				close(gate.release)
				old := <-slow
				is.Equal(old[1].Status, rotation.StatusActive) // the slow read returns what it read
				is.Equal(f.version(t, "acme"), version+1)

				list, err := r.List(ctx, "acme")
				is.NoErr(err)
				is.Equal(list[1].Status, rotation.StatusRevoked) // but did not cache it over the newer version
				_, err = r.Authenticate(ctx, iss.Value.Reveal(), rotation.Request{})
				is.True(errors.Is(err, rotation.ErrRevoked)) // nor index its keys
			})
		}
	}
}

// TestReadersNeverSeeHalfRefresh lists and authenticates an owner while
// another process regenerates its secrets over and over and polls drop
// the owner. The owner always holds the anchor and two more secrets, so a
// read that shows another number, or misses the anchor, saw a keyset
// being rebuilt.
func TestReadersNeverSeeHalfRefresh(t *testing.T) {
	ctx := t.Context()
	feed := newFeed(false)
	f := newFixtureOver(t, feed, func(o *rotation.Options) { o.Cache.MaxAge = time.Hour })
	anchor := f.create(t, "acme", rotation.Spec{Name: "anchor"})
	others := []*rotation.Issued{f.create(t, "acme", rotation.Spec{}), f.create(t, "acme", rotation.Spec{})}
	if err := f.r.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	elsewhere := f.fresh(t)

	const rounds = 200
	var writers, readers sync.WaitGroup
	stop := make(chan struct{})
	writers.Go(func() {
		for i := range rounds {
			if _, err := elsewhere.Regenerate(ctx, "acme", others[i%2].ID, 0); err != nil {
				t.Error(err)
				return
			}
		}
	})
	writers.Go(func() {
		for range rounds {
			if err := f.r.Poll(ctx); err != nil {
				t.Error(err)
				return
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
				list, err := f.r.List(ctx, "acme")
				if err != nil || len(list) != 3 || list[0].ID != anchor.ID {
					t.Errorf("list during refresh: %d secrets, err %v", len(list), err)
					return
				}
				p, err := f.r.Authenticate(ctx, anchor.Value.Reveal(), rotation.Request{})
				if err != nil || p.Secret.ID != anchor.ID {
					t.Errorf("authenticating the anchor during refresh: %v", err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
}

// TestCacheBoundedByMaxOwners: beyond MaxOwners, the least recently used
// owner is dropped, with its keys.
func TestCacheBoundedByMaxOwners(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxOwners = 3 })
	keys := map[string]secrets.Value{}
	for _, owner := range []string{"o1", "o2", "o3", "o4", "o5"} {
		keys[owner] = f.create(t, owner, rotation.Spec{}).Value // each save caches its owner
	}
	served := func(do func()) bool {
		t.Helper()
		loads, lookups := f.calls()
		do()
		loads2, lookups2 := f.calls()
		return loads2 == loads && lookups2 == lookups
	}
	list := func(owner string) func() { return func() { f.list(t, owner) } }
	auth := func(owner string) func() { return func() { is.NoErr(f.auth(t, keys[owner])) } }

	is.True(served(list("o5"))) // the last three owners saved are cached
	is.True(served(list("o4")))
	is.True(served(auth("o3")))  // keys and all; o5 is now the least recently used
	is.True(!served(auth("o1"))) // the first two were dropped, keys and all: o1 is looked up and read
	is.True(served(list("o1")))  // and cached, in place of o5
	is.True(!served(list("o5"))) // which is read again, in place of o4
	is.True(!served(list("o4")))
	is.True(served(list("o5"))) // while the three used last stay
	is.True(served(list("o4")))
	is.True(served(auth("o1")))
}

// TestMissLookupsCapped sends 10,000 well-formed keys no store knows, as
// anyone can make them, and counts the store lookups they cost: with the
// default cap, one second's worth, 1,000. The others get ErrOverloaded,
// while keys of cached owners work on; a second later there is room again.
func TestMissLookupsCapped(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	known := f.create(t, "acme", rotation.Spec{})
	uncached, err := f.fresh(t).Create(ctx, "globex", rotation.Spec{})
	is.NoErr(err)

	const sent = 10_000
	overloaded := 0
	for range sent {
		_, err := f.r.Authenticate(ctx, made(t), rotation.Request{})
		switch {
		case errors.Is(err, rotation.ErrOverloaded):
			overloaded++
			var aerr *rotation.AuthError
			is.True(!errors.As(err, &aerr)) // not a refusal of the key, which may be valid
		case !errors.Is(err, rotation.ErrInvalidKey):
			t.Fatalf("a made-up key: %v", err)
		}
	}
	_, lookups := f.calls()
	t.Logf("%d made-up keys cost %d store lookups; %d were answered ErrOverloaded", sent, lookups, overloaded)
	is.Equal(lookups, int64(rotation.DefaultMaxMissLookups))  // a second's worth reach the store
	is.Equal(overloaded, sent-rotation.DefaultMaxMissLookups) // the others are refused as an overload

	is.NoErr(f.auth(t, known.Value)) // a key of a cached owner works on
	_, err = f.r.Authenticate(ctx, uncached.Value.Reveal(), rotation.Request{})
	is.True(errors.Is(err, rotation.ErrOverloaded)) // one that is not cached waits for room

	f.clock.Advance(time.Millisecond)
	is.NoErr(f.auth(t, uncached.Value)) // which a millisecond makes for one lookup
	f.clock.Advance(time.Second)
	for range rotation.DefaultMaxMissLookups {
		_, err := f.r.Authenticate(ctx, made(t), rotation.Request{})
		is.True(errors.Is(err, rotation.ErrInvalidKey)) // and a second for as many as before
	}
	_, err = f.r.Authenticate(ctx, made(t), rotation.Request{})
	is.True(errors.Is(err, rotation.ErrOverloaded)) // and no more
}

// Lookups that find a key cost the cap nothing: a replica whose cache is
// cold, or churns through more owners than it holds, is not refused for
// its honest traffic.
func TestFoundLookupsNotCapped(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxMissLookups = 1 })
	elsewhere := f.fresh(t)
	for i := range 20 {
		iss, err := elsewhere.Create(ctx, fmt.Sprintf("owner%d", i), rotation.Spec{})
		is.NoErr(err)
		is.NoErr(f.auth(t, iss.Value)) // every key of an uncached owner is looked up and found
	}
	_, err := f.r.Authenticate(ctx, made(t), rotation.Request{})
	is.True(errors.Is(err, rotation.ErrInvalidKey)) // the cap's one lookup is still there for an unknown key
	_, err = f.r.Authenticate(ctx, made(t), rotation.Request{})
	is.True(errors.Is(err, rotation.ErrOverloaded)) // and then spent
}

// Made-up owners, as the sender of a webhook can name any, are answered
// as made-up keys are: each unknown owner costs one store read per
// MissTTL, and such reads are capped, so that a flood of them does not
// reach the store faster; an owner that exists is not affected.
func TestMadeUpOwnersCapped(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxMissLookups = 100 })
	uncached, err := f.fresh(t).Create(ctx, "globex", rotation.Spec{HMAC: true})
	is.NoErr(err)

	keys, err := f.r.VerifyingKeys(ctx, "nobody")
	is.NoErr(err)
	is.Equal(len(keys), 0) // an unknown owner has no keys
	loads := f.store.loads.Load()
	for range 10 {
		_, err := f.r.VerifyingKeys(ctx, "nobody")
		is.NoErr(err)
	}
	is.Equal(f.store.loads.Load(), loads) // and is remembered as unknown

	overloaded := 0
	for i := range 1_000 {
		_, err := f.r.VerifyingKeys(ctx, fmt.Sprintf("made-up-%d", i))
		switch {
		case errors.Is(err, rotation.ErrOverloaded):
			overloaded++
		case err != nil:
			t.Fatalf("a made-up owner: %v", err)
		}
	}
	is.Equal(f.store.loads.Load()-loads, int64(99)) // what is left of the second's cap reaches the store
	is.Equal(overloaded, 1_000-99)                  // the others are refused as an overload

	f.clock.Advance(10 * time.Millisecond)
	keys, err = f.r.VerifyingKeys(ctx, "globex")
	is.NoErr(err)
	is.Equal(len(keys), 1) // an owner that exists is read, with the room a moment made
	is.Equal(keys[0].ID(), uncached.ID)

	f.clock.Advance(rotation.DefaultMissTTL)
	loads = f.store.loads.Load()
	_, err = f.r.VerifyingKeys(ctx, "nobody")
	is.NoErr(err)
	is.Equal(f.store.loads.Load(), loads+1) // once MissTTL has passed, the owner is read again
}

// An owner remembered as unknown is forgotten as such once the Rotator
// saves it, even when its keyset leaves the cache before MissTTL passes.
func TestCreatedOwnerNotRememberedUnknown(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxOwners = 1 })
	keys, err := f.r.VerifyingKeys(ctx, "initech")
	is.NoErr(err)
	is.Equal(len(keys), 0) // remembered as unknown
	f.create(t, "initech", rotation.Spec{HMAC: true})
	f.create(t, "globex", rotation.Spec{HMAC: true}) // which takes the cache's one place
	keys, err = f.r.VerifyingKeys(ctx, "initech")
	is.NoErr(err)
	is.Equal(len(keys), 1) // read again, with its key
}

func TestMissLookupsUncapped(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxMissLookups = -1 })
	for range 2_000 {
		_, err := f.r.Authenticate(t.Context(), made(t), rotation.Request{})
		is.True(errors.Is(err, rotation.ErrInvalidKey)) // a negative cap is none
	}
}

// After recorded uses are written, the cached keyset shows them, so that
// a list never shows an older last use after the write than before it.
func TestWrittenUsesShownFromCache(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	iss := f.create(t, "acme", rotation.Spec{})
	is.NoErr(f.auth(t, iss.Value))
	is.NoErr(f.r.Flush(t.Context())) // the use is written, as Run writes it
	is.Equal(f.store.uses.Load(), int64(1))
	loads, _ := f.calls()
	got := f.get(t, "acme", iss.ID)
	is.Equal(got.LastUsedAt, t0)         // the use shows
	is.Equal(got.Current.LastUsedAt, t0) // on its value too
	loads2, _ := f.calls()
	is.Equal(loads2, loads) // from the cached keyset, not a read of the store
}

// failingLookups is a store whose lookups fail while down is set.
type failingLookups struct {
	store.Store
	down atomic.Bool
}

func (s *failingLookups) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	if s.down.Load() {
		return store.Match{}, &store.OpError{Op: "lookup", Err: errNetwork}
	}
	return s.Store.Lookup(ctx, d)
}

func TestFailedLookupNotRemembered(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	st := &failingLookups{Store: memstore.New()}
	f := newFixtureOver(t, st, func(o *rotation.Options) { o.Cache.MissTTL = time.Hour })
	iss, err := f.fresh(t).Create(ctx, "acme", rotation.Spec{})
	is.NoErr(err)

	st.down.Store(true)
	is.True(errors.Is(f.auth(t, iss.Value), errNetwork)) // the store's failure is reported as it is
	st.down.Store(false)
	is.NoErr(f.auth(t, iss.Value)) // and not remembered as an unknown key

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = f.r.Authenticate(canceled, iss.Value.Reveal(), rotation.Request{})
	is.True(errors.Is(err, context.Canceled)) // a done context is reported even for a cached key
}
