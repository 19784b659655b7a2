package rotation_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// diff is cmp.Diff, reported as (-want +got), with the options rotor's
// values need.
func diff(want, got any, opts ...cmp.Option) string {
	return cmp.Diff(want, got, append(opts, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}))...)
}

// t0 is where every test clock starts.
var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// noSuchID has the shape of a secret id and names no secret.
const noSuchID = "sec_nosuchsecretnosuchsecretxx"

// countingStore counts the calls that reach the store underneath.
type countingStore struct {
	store.Store
	loads   atomic.Int64
	lookups atomic.Int64
	uses    atomic.Int64 // RecordUses calls
	used    atomic.Int64 // uses in those calls
	saves   atomic.Int64
}

func (c *countingStore) Load(ctx context.Context, owner string) (store.Keyset, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, owner)
}

func (c *countingStore) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	c.lookups.Add(1)
	return c.Store.Lookup(ctx, d)
}

func (c *countingStore) RecordUses(ctx context.Context, uses []store.Use) error {
	c.uses.Add(1)
	c.used.Add(int64(len(uses)))
	return c.Store.RecordUses(ctx, uses)
}

func (c *countingStore) Save(ctx context.Context, ks store.Keyset) error {
	c.saves.Add(1)
	return c.Store.Save(ctx, ks)
}

// countingFeed is a countingStore over a feed that still reports
// changes, as the feed does.
type countingFeed struct {
	*countingStore
	feed *feed
}

func (c countingFeed) Changes(ctx context.Context, cursor string) ([]string, string, error) {
	return c.feed.Changes(ctx, cursor)
}

func (c countingFeed) Listen(ctx context.Context, ready func(), changed func(string)) error {
	return c.feed.Listen(ctx, ready, changed)
}

type fixture struct {
	r     *rotation.Rotator
	clock *rotationtest.Clock
	store *countingStore
	ring  *secrets.Keyring

	mu     sync.Mutex       // guards events
	events []rotation.Event // what the Observer was told, in order
}

// wait is the fixture's Options.Wait: time passes on its clock alone, at
// once, so a change that lost a race tries again without the test
// waiting.
func (f *fixture) wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.clock.Advance(d)
	return nil
}

// seen returns the events observed so far and forgets them.
func (f *fixture) seen() []rotation.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.events
	f.events = nil
	return out
}

// newFixture returns a Rotator over a counting memstore with a stepped
// clock, a keyring and an observer that keeps the events; edit tweaks its
// options first.
func newFixture(t *testing.T, edit func(*rotation.Options)) *fixture {
	t.Helper()
	return newFixtureOver(t, testStore(t), edit)
}

// envStore names the environment variable that picks the store
// newFixture puts Rotators over: memstore (the default), sqlite or
// postgres. CI runs this package's tests once with each, so that every
// rule the tests show is shown on every backend.
const envStore = "ROTOR_TEST_STORE"

// testStore returns a new, empty store of the kind ROTOR_TEST_STORE names.
func testStore(t *testing.T) store.Store {
	t.Helper()
	switch kind := os.Getenv(envStore); kind {
	case "", "memstore":
		return memstore.New()
	case "sqlite":
		return sqlstoretest.SQLite(t).Open(t)
	case "postgres":
		return sqlstoretest.Postgres(t).Open(t)
	default:
		t.Fatalf("%s=%q: want memstore, sqlite or postgres", envStore, kind)
		return nil
	}
}

// newFixtureOver is newFixture over the store st.
func newFixtureOver(t *testing.T, st store.Store, edit func(*rotation.Options)) *fixture {
	t.Helper()
	f := &fixture{
		clock: rotationtest.NewClock(t0),
		store: &countingStore{Store: st},
		ring:  secretstest.Keyring(t),
	}
	opts := &rotation.Options{
		Now:     f.clock.Now,
		Wait:    f.wait,
		Keyring: f.ring,
		Observer: func(_ context.Context, e rotation.Event) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, e)
		},
	}
	if edit != nil {
		edit(opts)
	}
	var counted store.Store = f.store
	if fd, ok := st.(*feed); ok {
		counted = countingFeed{f.store, fd} // still a change log and a notifier
		// A feed's tests run Run in a synctest bubble, whose timers are
		// the bubble's: the default Wait blocks there between batches of
		// uses, where f.wait, which returns at once, would spin.
		opts.Wait = nil
	}
	var err error
	if f.r, err = rotation.New(counted, opts); err != nil {
		t.Fatal(err)
	}
	return f
}

// fresh returns another Rotator over the fixture's store, on its clock
// and keyring, with nothing cached: it reads what the store holds, where
// the fixture's Rotator may not yet have heard of what other Rotators
// saved.
func (f *fixture) fresh(t *testing.T) *rotation.Rotator {
	t.Helper()
	r, err := rotation.New(f.store.Store, &rotation.Options{Now: f.clock.Now, Keyring: f.ring})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// create makes a secret or fails the test.
func (f *fixture) create(t *testing.T, owner string, spec rotation.Spec) *rotation.Issued {
	t.Helper()
	iss, err := f.r.Create(t.Context(), owner, spec)
	if err != nil {
		t.Fatalf("create for %s: %v", owner, err)
	}
	return iss
}

// regenerate regenerates a secret or fails the test.
func (f *fixture) regenerate(t *testing.T, owner, id string, grace time.Duration) *rotation.Regenerated {
	t.Helper()
	res, err := f.r.Regenerate(t.Context(), owner, id, grace)
	if err != nil {
		t.Fatalf("regenerate %s of %s: %v", id, owner, err)
	}
	return res
}

// auth authenticates key with no network or scope requirement.
func (f *fixture) auth(t *testing.T, key secrets.Value) error {
	t.Helper()
	_, err := f.r.Authenticate(t.Context(), key.Reveal(), rotation.Request{})
	return err
}

// list returns the owner's secrets or fails the test.
func (f *fixture) list(t *testing.T, owner string) []rotation.Secret {
	t.Helper()
	list, err := f.r.List(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// get returns one secret or fails the test.
func (f *fixture) get(t *testing.T, owner, id string) rotation.Secret {
	t.Helper()
	s, err := f.r.Get(t.Context(), owner, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keyset returns the owner's keyset as the store holds it; an owner never
// saved has the zero keyset.
func (f *fixture) keyset(t *testing.T, owner string) store.Keyset {
	t.Helper()
	ks, err := f.store.Store.Load(t.Context(), owner)
	if errors.Is(err, store.ErrNotFound) {
		return store.Keyset{}
	}
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// version returns the owner's keyset version in the store.
func (f *fixture) version(t *testing.T, owner string) int64 {
	t.Helper()
	return f.keyset(t, owner).Version
}

// designated returns the ids of the listed secrets that say they sign.
func designated(list []rotation.Secret) []string {
	var out []string
	for _, s := range list {
		if s.Signing {
			out = append(out, s.ID)
		}
	}
	return out
}

// secretIDs returns the ids of the listed secrets, in order.
func secretIDs(list []rotation.Secret) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}

// valueIDs returns the ids of values, in order.
func valueIDs(vs []rotation.ValueInfo) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

// kinds returns the kinds of events, in order.
func kinds(events []rotation.Event) []rotation.EventKind {
	out := make([]rotation.EventKind, len(events))
	for i, e := range events {
		out[i] = e.Kind
	}
	return out
}
