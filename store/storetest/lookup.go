package storetest

import (
	"errors"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

func testLookupUnknownDigest(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		d    secrets.Digest
	}{
		{name: "NeverSaved", d: digest("nobody")},
		{name: "Zero", d: secrets.Digest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := newStore(t)
			_, _, err := s.Lookup(t.Context(), tt.d)
			is.True(errors.Is(err, store.ErrNotFound)) // an empty store finds nothing

			save(t, s, store.Keyset{Owner: "acme", Secrets: []store.Record{record("a1")}})
			_, _, err = s.Lookup(t.Context(), tt.d)
			is.True(errors.Is(err, store.ErrNotFound)) // a digest no record has is not found
		})
	}
}

func testLookupFollowsSaves(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	notFound := func(d secrets.Digest) bool {
		t.Helper()
		_, _, err := s.Lookup(t.Context(), d)
		return errors.Is(err, store.ErrNotFound)
	}
	found := func(wantOwner string, want store.Record) {
		t.Helper()
		owner, rec := lookup(t, s, want.Digest)
		is.Equal(owner, wantOwner) // lookup names the owner that holds the digest
		checkRecord(t, want, rec)
	}

	acme := store.Keyset{Owner: "acme", Secrets: []store.Record{record("a1"), fullRecord("a2")}}
	globex := store.Keyset{Owner: "globex", Secrets: []store.Record{record("g1")}}
	save(t, s, acme)
	save(t, s, globex)
	found("acme", acme.Secrets[0])
	found("acme", acme.Secrets[1])
	found("globex", globex.Secrets[0])

	// Remove a2, add a3, rename a1.
	acme = load(t, s, "acme")
	acme.Secrets = []store.Record{acme.Secrets[0], record("a3")}
	acme.Secrets[0].Name = "renamed"
	save(t, s, acme)
	is.True(notFound(digest("a2"))) // a removed record is no longer found
	found("acme", acme.Secrets[0])  // a kept record is found as last saved
	found("acme", acme.Secrets[1])  // an added record is found
	found("globex", globex.Secrets[0])

	// Give a1 a new digest.
	acme = load(t, s, "acme")
	acme.Secrets[0].Digest = digest("a1 again")
	save(t, s, acme)
	is.True(notFound(digest("a1"))) // a record's old digest is no longer found
	found("acme", acme.Secrets[0])  // its new one is

	// A digest freed by one owner can be used by another.
	globex = load(t, s, "globex")
	globex.Secrets = append(globex.Secrets, record("a2"))
	globex.Secrets[1].ID = "g2"
	save(t, s, globex)
	found("globex", globex.Secrets[1])
}

// refusal is a save that a store must refuse, after some that it accepts.
type refusal struct {
	name  string
	setup []store.Keyset // saved first, in order
	ks    store.Keyset   // then refused
	want  []error        // the error matches at least one of these
}

// checkRefusals runs each refusal on a new store and checks that it fails
// as it should and changes nothing.
func checkRefusals(t *testing.T, newStore func(t *testing.T) store.Store, tests []refusal) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := newStore(t)
			for _, ks := range tt.setup {
				save(t, s, ks)
			}
			before := observeAround(t, s, tt.ks, tt.setup...)

			err := s.Save(t.Context(), tt.ks)
			matched := false
			for _, want := range tt.want {
				matched = matched || errors.Is(err, want)
			}
			if !matched {
				t.Errorf("save: %v; want an error matching one of %v", err, tt.want)
			}
			is.True(err != nil) // the keyset is refused

			checkUnchanged(t, before, observeAround(t, s, tt.ks, tt.setup...))
		})
	}
}

// keyset returns a keyset of the owner at the version, holding recs.
func keyset(owner string, version int64, recs ...store.Record) store.Keyset {
	return store.Keyset{Owner: owner, Version: version, Secrets: recs}
}

// withDigest returns r with the digest of another name.
func withDigest(r store.Record, name string) store.Record {
	r.Digest = digest(name)
	return r
}

func testRefuseDuplicates(t *testing.T, newStore func(t *testing.T) store.Store) {
	dup := []error{store.ErrDuplicate}
	checkRefusals(t, newStore, []refusal{
		{
			name: "DigestTwiceInNewKeyset",
			ks:   keyset("acme", 0, record("a1"), withDigest(record("a2"), "a1")),
			want: dup,
		},
		{
			name:  "DigestTwiceInSavedKeyset",
			setup: []store.Keyset{keyset("acme", 0, record("a1"))},
			ks:    keyset("acme", 1, record("a1"), withDigest(record("a2"), "a1")),
			want:  dup,
		},
		{
			name:  "DigestOfOtherOwner",
			setup: []store.Keyset{keyset("globex", 0, record("g1"))},
			ks:    keyset("acme", 0, withDigest(record("a1"), "g1")),
			want:  dup,
		},
		{
			name: "DigestOfOtherOwnerOnUpdate",
			setup: []store.Keyset{
				keyset("globex", 0, record("g1")),
				keyset("acme", 0, record("a1")),
			},
			ks:   keyset("acme", 1, record("a1"), withDigest(record("a2"), "g1")),
			want: dup,
		},
		{
			name: "DigestOfOtherOwnerSameID",
			setup: []store.Keyset{
				keyset("globex", 0, record("k1")),
			},
			ks:   keyset("acme", 0, record("k1")),
			want: dup,
		},
		{
			name: "IDTwice",
			ks:   keyset("acme", 0, record("a1"), withDigest(record("a1"), "a2")),
			want: []error{store.ErrDuplicate, store.ErrInvalid},
		},
	})
}

func testRefuseInvalid(t *testing.T, newStore func(t *testing.T) store.Store) {
	invalid := []error{store.ErrInvalid}
	checkRefusals(t, newStore, []refusal{
		{
			name: "NoOwner",
			ks:   keyset("", 0, record("a1")),
			want: invalid,
		},
		{
			name:  "NegativeVersion",
			setup: []store.Keyset{keyset("acme", 0, record("a1"))},
			ks:    keyset("acme", -1, record("a2")),
			want:  invalid,
		},
		{
			name: "RecordWithoutID",
			ks:   keyset("acme", 0, record("a1"), withDigest(record(""), "a2")),
			want: invalid,
		},
		{
			name:  "RecordWithoutIDOnUpdate",
			setup: []store.Keyset{keyset("acme", 0, record("a1"))},
			ks:    keyset("acme", 1, record("a1"), withDigest(record(""), "a2")),
			want:  invalid,
		},
		{
			name: "RecordWithZeroDigest",
			ks:   keyset("acme", 0, record("a1"), withZeroDigest(record("a2"))),
			want: invalid,
		},
	})
}

// withZeroDigest returns r without a digest.
func withZeroDigest(r store.Record) store.Record {
	r.Digest = secrets.Digest{}
	return r
}
