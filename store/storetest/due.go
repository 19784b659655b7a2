package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
)

// testDueLister checks [store.DueLister]: owners come due first, of
// equal ones by name, up to limit; before is inclusive; an owner whose
// keyset has no DueAt, or no keys, is never listed, and a save that
// clears or moves DueAt takes the owner off the list or elsewhere in it.
func testDueLister(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	dl, ok := s.(store.DueLister)
	if !ok {
		t.Skip("the store is not a store.DueLister")
	}
	is := is.New(t)
	ctx := t.Context()
	due := func(before time.Time, limit int) []string {
		t.Helper()
		owners, err := dl.Due(ctx, before, limit)
		if err != nil {
			t.Fatalf("Due: %v", err)
		}
		return owners
	}
	check := func(want, got []string) {
		t.Helper()
		if d := cmp.Diff(want, got, cmpOpts); d != "" {
			t.Errorf("due owners (-want +got):\n%s", d)
		}
	}
	add := func(owner string, dueAt time.Time) {
		t.Helper()
		ks := keyset(owner, 0, key(owner+".k"))
		ks.DueAt = dueAt
		save(t, s, ks)
	}
	add("carol", at(3*time.Hour))
	add("alice", at(time.Hour))
	add("bob", at(time.Hour)) // due with alice: after her by name
	add("dave", at(2*time.Hour))
	add("erin", time.Time{}) // nothing due, ever
	add("frank", at(48*time.Hour))

	check(nil, due(at(time.Hour-time.Microsecond), 10))                   // none due yet
	check([]string{"alice", "bob"}, due(at(time.Hour), 10))               // before is inclusive, equal ones by name
	check([]string{"alice", "bob", "dave"}, due(at(150*time.Minute), 10)) // earliest first
	check([]string{"alice", "bob"}, due(at(100*time.Hour), 2))            // at most limit
	check([]string{"alice", "bob", "dave", "carol", "frank"}, due(at(100*time.Hour), 100))

	ks := load(t, s, "alice")
	ks.DueAt = time.Time{}
	save(t, s, ks) // nothing due any more
	ks = load(t, s, "dave")
	ks.DueAt = at(72 * time.Hour)
	save(t, s, ks) // due later
	ks = load(t, s, "bob")
	ks.Keys = nil
	save(t, s, ks) // the owner deleted, though its DueAt was left
	check([]string{"carol", "frank", "dave"}, due(at(100*time.Hour), 100))

	is.True(load(t, s, "carol").DueAt.Equal(at(3 * time.Hour))) // DueAt round-trips
}

// testOwnerLister checks [store.OwnerLister]: every owner saved, deleted
// ones included, in byte order of their names, in pages after a name.
func testOwnerLister(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ol, ok := s.(store.OwnerLister)
	if !ok {
		t.Skip("the store is not a store.OwnerLister")
	}
	ctx := t.Context()
	owners := func(after string, limit int) []string {
		t.Helper()
		got, err := ol.Owners(ctx, after, limit)
		if err != nil {
			t.Fatalf("Owners: %v", err)
		}
		return got
	}
	check := func(want, got []string) {
		t.Helper()
		if d := cmp.Diff(want, got, cmpOpts); d != "" {
			t.Errorf("owners (-want +got):\n%s", d)
		}
	}
	check(nil, owners("", 10)) // an empty store has none
	// "Zed" sorts before "alice" by bytes, "é" after "z".
	for _, o := range []string{"bob", "alice", "Zed", "émile", "zoe"} {
		save(t, s, keyset(o, 0, key(o+".k")))
	}
	ks := load(t, s, "bob")
	ks.Keys = nil
	save(t, s, ks) // deleted, and still saved once

	check([]string{"Zed", "alice", "bob", "zoe", "émile"}, owners("", 10))
	check([]string{"Zed", "alice"}, owners("", 2))
	check([]string{"bob", "zoe"}, owners("alice", 2)) // after is exclusive
	check([]string{"émile"}, owners("zoe", 2))
	check(nil, owners("émile", 2))
}
