package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

func testLoadUnknownOwner(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	save(t, s, store.Keyset{Owner: "acme", Secrets: []store.Record{record("a1")}})

	_, err := s.Load(t.Context(), "globex")
	is.True(errors.Is(err, store.ErrNotFound)) // an owner never saved is not found
}

func testSaveLoadRoundTrip(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	bare := store.Record{ID: "a2", Digest: digest("a2")}
	ks := store.Keyset{Owner: "acme", Secrets: []store.Record{fullRecord("a1"), bare, record("a3")}}
	save(t, s, ks)

	got := load(t, s, "acme")
	is.Equal(got.Version, int64(1)) // the first save makes version 1
	checkKeyset(t, saved(ks), got)

	for _, want := range ks.Secrets {
		owner, rec := lookup(t, s, want.Digest)
		is.Equal(owner, "acme") // lookup names the owner of the record
		checkRecord(t, want, rec)
	}
}

func testSaveCountsVersions(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	ks := store.Keyset{Owner: "acme", Secrets: []store.Record{record("a1")}}
	save(t, s, ks)

	for want := int64(2); want <= 4; want++ {
		ks = load(t, s, "acme")
		is.Equal(ks.Version, want-1) // load shows the version of the last save
		ks.Secrets[0].Name = fmt.Sprintf("renamed for version %d", want)
		ks.Secrets = append(ks.Secrets, record(fmt.Sprintf("a%d", want)))
		save(t, s, ks)

		got := load(t, s, "acme")
		is.Equal(got.Version, want) // each save adds one to the version
		checkKeyset(t, saved(ks), got)
	}
}

func testSaveEmptyKeyset(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	save(t, s, store.Keyset{Owner: "acme"})
	got := load(t, s, "acme")
	is.Equal(got.Version, int64(1)) // an owner with no secrets is still saved
	is.Equal(len(got.Secrets), 0)   // and has none

	got.Secrets = []store.Record{record("a1")}
	save(t, s, got)
	got = load(t, s, "acme")
	got.Secrets = nil
	save(t, s, got)

	got = load(t, s, "acme")
	is.Equal(got.Version, int64(3)) // removing every secret is a save like any other
	is.Equal(len(got.Secrets), 0)   // and leaves none
	_, _, err := s.Lookup(t.Context(), digest("a1"))
	is.True(errors.Is(err, store.ErrNotFound)) // the removed secret is not found by digest
}

func testConflictStaleVersion(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name    string
		saves   int   // how many saves happen first
		version int64 // the version the losing save claims
	}{
		{name: "NewAfterFirstSave", saves: 1, version: 0},
		{name: "FirstAfterSecondSave", saves: 2, version: 1},
		{name: "AheadOfStored", saves: 2, version: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := newStore(t)
			ks := store.Keyset{Owner: "acme", Secrets: []store.Record{record("a1")}}
			for range tt.saves {
				save(t, s, ks)
				ks.Version++
				ks.Secrets[0].Name += "+"
			}
			stale := load(t, s, "acme")
			stale.Version = tt.version
			stale.Secrets[0].Name = "lost update"
			stale.Secrets = append(stale.Secrets, record("a2"))
			before := observeAround(t, s, stale)

			err := s.Save(t.Context(), stale)
			is.True(errors.Is(err, store.ErrConflict)) // a save at a version other than the stored one loses

			after := observeAround(t, s, stale)
			is.Equal(after.Keysets["acme"].Version, int64(tt.saves)) // the version stays
			checkUnchanged(t, before, after)
		})
	}
}

func testConflictNewOwner(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	ks := store.Keyset{Owner: "acme", Version: 5, Secrets: []store.Record{record("a1")}}

	err := s.Save(t.Context(), ks)
	is.True(errors.Is(err, store.ErrConflict)) // an owner never saved is at version 0, not 5

	_, err = s.Load(t.Context(), "acme")
	is.True(errors.Is(err, store.ErrNotFound)) // the refused owner was not created
	_, _, err = s.Lookup(t.Context(), digest("a1"))
	is.True(errors.Is(err, store.ErrNotFound)) // and its secret is not found by digest
}

// scribble changes every part of r, including the memory its slices and
// maps point to.
func scribble(r *store.Record) {
	r.Name = "scribbled"
	r.Scopes[0] = "scribbled"
	r.Scopes = append(r.Scopes, "scribbled too")
	r.Networks[1] = r.Networks[0]
	r.Metadata["team"] = "scribbled"
	r.Metadata["scribbled"] = "yes"
	r.Sealed.Ciphertext[0] ^= 0xff
	r.LastUsedAt = r.LastUsedAt.Add(1)
	r.Digest = secrets.Digest{1}
}

// scribbleKeyset changes every part of ks that can share memory.
func scribbleKeyset(ks *store.Keyset) {
	ks.Owner = "scribbled"
	ks.Version = 99
	scribble(&ks.Secrets[0])
	ks.Secrets[1].ID = "scribbled"
	ks.Secrets = append(ks.Secrets, record("scribbled"))
}

func testIsolationOfSavedKeyset(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ks := store.Keyset{Owner: "acme", Secrets: []store.Record{fullRecord("a1"), fullRecord("a2")}}
	want := saved(ks)
	save(t, s, ks)

	scribbleKeyset(&ks)
	checkKeyset(t, want, load(t, s, "acme"))
}

func testIsolationOfLoadedKeyset(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ks := store.Keyset{Owner: "acme", Secrets: []store.Record{fullRecord("a1"), fullRecord("a2")}}
	want := saved(ks)
	save(t, s, ks)

	got := load(t, s, "acme")
	scribbleKeyset(&got)
	checkKeyset(t, want, load(t, s, "acme"))
}

func testIsolationOfLookedUpRecord(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	want := fullRecord("a1")
	save(t, s, store.Keyset{Owner: "acme", Secrets: []store.Record{want}})

	_, rec := lookup(t, s, want.Digest)
	scribble(&rec)
	_, rec = lookup(t, s, want.Digest)
	checkRecord(t, want, rec)
	checkKeyset(t, store.Keyset{Owner: "acme", Version: 1, Secrets: []store.Record{want}}, load(t, s, "acme"))
}
