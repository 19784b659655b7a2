package rotation_test

import (
	"context"
	"net/netip"
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
)

// diff is cmp.Diff with the options rotor's values need.
func diff(want, got any) string {
	return cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}))
}

// t0 is where every test clock starts.
var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// countingStore counts the calls that reach the store underneath.
type countingStore struct {
	store.Store
	lookups atomic.Int64
	uses    atomic.Int64 // RecordUses calls
	used    atomic.Int64 // uses in those calls
	saves   atomic.Int64
}

func (c *countingStore) Lookup(ctx context.Context, d secrets.Digest) (string, store.Record, error) {
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

type fixture struct {
	r     *rotation.Rotator
	clock *rotationtest.Clock
	store *countingStore
	ring  *secrets.Keyring
}

// newFixture returns a Rotator over a counting memstore with a stepped clock
// and a keyring; edit tweaks its options first.
func newFixture(t *testing.T, edit func(*rotation.Options)) *fixture {
	t.Helper()
	ring := secretstest.Keyring(t)
	f := &fixture{
		clock: rotationtest.NewClock(t0),
		store: &countingStore{Store: memstore.New()},
		ring:  ring,
	}
	opts := &rotation.Options{Now: f.clock.Now, Keyring: ring}
	if edit != nil {
		edit(opts)
	}
	var err error
	if f.r, err = rotation.New(f.store, opts); err != nil {
		t.Fatal(err)
	}
	return f
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

// auth authenticates key with no network or scope requirement.
func (f *fixture) auth(t *testing.T, key secrets.Value) error {
	t.Helper()
	_, err := f.r.Authenticate(t.Context(), key.Reveal(), rotation.Request{})
	return err
}

// statuses returns the owner's secrets' statuses by id.
func (f *fixture) statuses(t *testing.T, owner string) map[string]rotation.Status {
	t.Helper()
	list, err := f.r.List(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]rotation.Status, len(list))
	for _, s := range list {
		out[s.ID] = s.Status
	}
	return out
}

// count returns how many of the owner's secrets have each status, and how
// many active ones are designated.
func (f *fixture) count(t *testing.T, owner string) (byStatus map[rotation.Status]int, designated int) {
	t.Helper()
	list, err := f.r.List(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	byStatus = make(map[rotation.Status]int)
	for _, s := range list {
		byStatus[s.Status]++
		if s.Signing && s.Status == rotation.StatusActive {
			designated++
		}
	}
	return byStatus, designated
}

// version returns the owner's keyset version in the store.
func (f *fixture) version(t *testing.T, owner string) int64 {
	t.Helper()
	ks, err := f.store.Load(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	return ks.Version
}
