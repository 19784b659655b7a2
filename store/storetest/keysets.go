package storetest

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

func testLoadUnknownOwner(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	save(t, s, keyset("acme", 0, key("a1")))

	_, err := s.Load(t.Context(), "globex")
	is.True(errors.Is(err, store.ErrNotFound)) // an owner never saved is not found

	for _, owner := range []string{"", "ac\x00me", "ac\xffme", strings.Repeat("o", store.MaxOwnerLen+1)} {
		_, err := s.Load(t.Context(), owner)
		is.True(errors.Is(err, store.ErrNotFound)) // nor is one no keyset may have, whatever the backend's rules for text
	}
	err = s.RecordUses(t.Context(), []store.Use{use("ac\x00me", "a1", "a1.v0", time.Hour, ipv4), use("acme", "a1", "a1.v0", time.Hour, ipv4)})
	is.NoErr(err)                                                       // a use of such an owner is ignored like any unknown owner's
	is.True(load(t, s, "acme").Keys[0].LastUsedAt.Equal(at(time.Hour))) // and the others of the batch are kept
}

func testSaveLoadRoundTrip(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	revoked := fullKey("a3")
	revoked.RevokedAt = at(30*24*time.Hour + time.Microsecond)
	webhook := key("a4")
	webhook.Format, webhook.HMAC, webhook.Current.Sealed = secrets.Webhook, true, sealed(9)
	ks := keyset("acme", 0, fullKey("a1"), key("a2"), revoked, webhook)
	ks.Signing = "a1"
	ks.DueAt = at(time.Hour + 50*time.Minute + time.Microsecond)
	save(t, s, ks)

	got := load(t, s, "acme")
	is.Equal(got.Version, int64(1)) // the first save makes version 1
	checkKeyset(t, saved(ks), got)

	for i := range ks.Keys {
		want := ks.Keys[i]
		for v := range want.Values() {
			m := lookup(t, s, v.Digest)
			is.Equal(m.Owner, "acme") // lookup names the owner of the key
			checkKey(t, want, m.Key)  // and finds the whole key by any of its values
		}
	}

	got.Signing = "a4"
	got.Keys = got.Keys[1:] // the designation may move, and keys go
	save(t, s, got)
	checkKeyset(t, saved(got), load(t, s, "acme"))
}

func testTextRoundTrip(t *testing.T, newStore func(t *testing.T) store.Store) {
	// Text at the edges of what Validate allows: every backend must keep
	// it byte for byte, or refuse none of it.
	texts := []string{
		"café", "e\u0301", "東京", "😀", "\u2028\u2029", "\x01\x1f\x7f", `\`, `"`, "'", "<script>&amp;",
		"%s %v", "\t\n\r", " leading and trailing ", "\uFEFF", "\U0010FFFF",
	}
	k := key("a1")
	k.Name = strings.Repeat("é", store.MaxNameLen/2) // exactly MaxNameLen bytes
	k.Scopes = append([]string(nil), texts...)
	k.Scopes = append(k.Scopes, strings.Repeat("s", store.MaxScopeLen))
	k.Metadata = make(map[string]string)
	for i, text := range texts {
		k.Metadata[fmt.Sprintf("k%02d %s", i, text)] = text
	}
	k.Metadata[strings.Repeat("k", store.MaxMetadataKeyLen)] = strings.Repeat("v", store.MaxMetadataValueLen)
	k.Metadata["empty"] = ""
	k.ExpiresAt = store.MaxExpiresAt // the latest expiry any backend keeps exactly
	others := make([]store.Record, 0, len(texts))
	for i, text := range texts {
		o := key(fmt.Sprintf("t%02d", i))
		o.Name = text
		others = append(others, o)
	}
	ks := keyset("Ünïcødé owner ✓", 0, append([]store.Record{k}, others...)...)
	if err := ks.Validate(); err != nil {
		t.Fatalf("storetest: the text case is not a valid keyset: %v", err)
	}

	s := newStore(t)
	save(t, s, ks)
	checkKeyset(t, saved(ks), load(t, s, ks.Owner))
	m := lookup(t, s, digest("a1"))
	is.New(t).Equal(m.Owner, ks.Owner) // the owner's text comes back as saved
	checkKey(t, k, m.Key)
}

func testSaveCountsVersions(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	save(t, s, keyset("acme", 0, key("a1")))

	for want := int64(2); want <= 4; want++ {
		ks := load(t, s, "acme")
		is.Equal(ks.Version, want-1) // load shows the version of the last save
		ks.Keys[0].Name = fmt.Sprintf("renamed for version %d", want)
		ks.Keys = append(ks.Keys, key(fmt.Sprintf("a%d", want)))
		save(t, s, ks)

		got := load(t, s, "acme")
		is.Equal(got.Version, want) // each save adds one to the version
		checkKeyset(t, saved(ks), got)
	}
}

func testSaveEmptyKeyset(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	save(t, s, keyset("acme", 0))
	got := load(t, s, "acme")
	is.Equal(got.Version, int64(1)) // an owner with no keys is still saved
	is.Equal(len(got.Keys), 0)      // and has none

	full := fullKey("a1")
	got.Keys, got.Signing = []store.Record{full}, "a1"
	save(t, s, got)
	got = load(t, s, "acme")
	got.Keys, got.Signing = nil, ""
	save(t, s, got) // how an owner is deleted

	got = load(t, s, "acme")
	is.Equal(got.Version, int64(3)) // removing every key is a save like any other, and the version goes on
	is.Equal(len(got.Keys), 0)      // leaving none
	is.Equal(got.Signing, "")       // and no designation
	for v := range full.Values() {
		_, err := s.Lookup(t.Context(), v.Digest)
		is.True(errors.Is(err, store.ErrNotFound)) // no value of a removed key is found by digest
	}
	err := s.Save(t.Context(), keyset("acme", 0, key("a1")))
	is.True(errors.Is(err, store.ErrConflict)) // a writer cannot start the owner over at version 0
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
			ks := keyset("acme", 0, key("a1"))
			for range tt.saves {
				save(t, s, ks)
				ks.Version++
				ks.Keys[0].Name += "+"
			}
			stale := load(t, s, "acme")
			stale.Version = tt.version
			stale.Keys[0].Name = "lost update"
			stale.Keys = append(stale.Keys, fullKey("a2"))
			stale.Signing = "a2"
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
	err := s.Save(t.Context(), keyset("acme", 5, key("a1")))
	is.True(errors.Is(err, store.ErrConflict)) // an owner never saved is at version 0, not 5

	_, err = s.Load(t.Context(), "acme")
	is.True(errors.Is(err, store.ErrNotFound)) // the refused owner was not created
	_, err = s.Lookup(t.Context(), digest("a1"))
	is.True(errors.Is(err, store.ErrNotFound)) // and its key is not found by digest
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
	r.LastUsedAt = r.LastUsedAt.Add(1)
	r.Current.Sealed.Ciphertext[0] ^= 0xff
	r.Current.Digest = secrets.Digest{1}
	r.Previous[0].Sealed.Ciphertext[0] ^= 0xff
	r.Previous[1].Hint = "scribbled"
	r.Previous = append(r.Previous, value("scribbled"))
}

// scribbleKeyset changes every part of ks that can share memory.
func scribbleKeyset(ks *store.Keyset) {
	ks.Owner = "scribbled"
	ks.Version = 99
	ks.Signing = "scribbled"
	scribble(&ks.Keys[0])
	ks.Keys[1].ID = "scribbled"
	ks.Keys = append(ks.Keys, key("scribbled"))
}

func testIsolationOfSavedKeyset(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ks := keyset("acme", 0, fullKey("a1"), fullKey("a2"))
	ks.Signing = "a1"
	want := saved(ks)
	save(t, s, ks)

	scribbleKeyset(&ks)
	checkKeyset(t, want, load(t, s, "acme"))
}

func testIsolationOfLoadedKeyset(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ks := keyset("acme", 0, fullKey("a1"), fullKey("a2"))
	want := saved(ks)
	save(t, s, ks)

	got := load(t, s, "acme")
	scribbleKeyset(&got)
	checkKeyset(t, want, load(t, s, "acme"))
}

func testIsolationOfLookedUpKey(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	want := fullKey("a1")
	save(t, s, keyset("acme", 0, want))

	m := lookup(t, s, want.Current.Digest)
	scribble(&m.Key)
	m = lookup(t, s, want.Previous[1].Digest)
	checkKey(t, want, m.Key)
	checkKeyset(t, keyset("acme", 1, want), load(t, s, "acme"))
}

// testSaveEachChange saves a stored keyset again with one thing changed,
// for each thing a keyset holds, and checks that the store keeps the
// change: a backend that writes only what changed must see every change.
func testSaveEachChange(t *testing.T, newStore func(t *testing.T) store.Store) {
	later := at(100 * 24 * time.Hour)
	tests := []struct {
		name string
		edit func(ks *store.Keyset)
	}{
		{"Name", func(ks *store.Keyset) { ks.Keys[0].Name = "renamed" }},
		{"Format", func(ks *store.Keyset) { ks.Keys[1].Format = "sk_test" }},
		{"Custom", func(ks *store.Keyset) { ks.Keys[0].Custom = false }},
		{"HMAC", func(ks *store.Keyset) { ks.Keys[1].HMAC, ks.Keys[1].Current.Sealed = true, sealed(7) }},
		{"Scope", func(ks *store.Keyset) { ks.Keys[0].Scopes[1] = "account:api:key:delete" }},
		{"ScopesEmptied", func(ks *store.Keyset) { ks.Keys[0].Scopes = nil }},
		{"ScopesGiven", func(ks *store.Keyset) { ks.Keys[1].Scopes = []string{"read"} }},
		{"Network", func(ks *store.Keyset) { ks.Keys[0].Networks[0] = netip.MustParsePrefix("198.51.100.0/24") }},
		{"RateLimit", func(ks *store.Keyset) { ks.Keys[0].RateLimit = 60 }},
		{"MetadataValue", func(ks *store.Keyset) { ks.Keys[0].Metadata["note"] = "changed" }},
		{"MetadataEntry", func(ks *store.Keyset) { ks.Keys[0].Metadata["new"] = "" }},
		{"ExpiresAt", func(ks *store.Keyset) { ks.Keys[0].ExpiresAt = ks.Keys[0].ExpiresAt.Add(time.Microsecond) }},
		{"CreatedAt", func(ks *store.Keyset) { ks.Keys[1].CreatedAt = at(-time.Hour) }},
		{"UpdatedAt", func(ks *store.Keyset) { ks.Keys[1].UpdatedAt = later }},
		{"RevokedAt", func(ks *store.Keyset) { ks.Keys[1].RevokedAt = later }},
		{"LastUse", func(ks *store.Keyset) {
			ks.Keys[1].LastUsedAt, ks.Keys[1].LastUsedIP = later, ipv6
			ks.Keys[1].Current.LastUsedAt, ks.Keys[1].Current.LastUsedIP = later, ipv6
		}},
		{"Hint", func(ks *store.Keyset) { ks.Keys[0].Current.Hint = "zzzz" }},
		{"Digest", func(ks *store.Keyset) { ks.Keys[1].Current.Digest = digest("a2 again") }},
		{"SealedKEK", func(ks *store.Keyset) { ks.Keys[0].Previous[1].Sealed.KEKID = "kek-2026-01" }},
		{"SealedCiphertext", func(ks *store.Keyset) { ks.Keys[0].Current.Sealed.Ciphertext[0] ^= 1 }},
		{"ValueCreatedAt", func(ks *store.Keyset) { ks.Keys[0].Previous[0].CreatedAt = at(-3 * time.Hour) }},
		{"ValueExpiresAt", func(ks *store.Keyset) { ks.Keys[0].Previous[0].ExpiresAt = at(time.Minute) }},
		{"KeysReordered", func(ks *store.Keyset) { ks.Keys[0], ks.Keys[1] = ks.Keys[1], ks.Keys[0] }},
		{"ValuesReordered", func(ks *store.Keyset) {
			p := ks.Keys[0].Previous
			p[0], p[1] = p[1], p[0]
		}},
		{"ValueRemoved", func(ks *store.Keyset) { ks.Keys[0].Previous = ks.Keys[0].Previous[1:] }},
		{"Regenerated", func(ks *store.Keyset) {
			r := &ks.Keys[1]
			old := r.Current
			old.ExpiresAt = later
			r.Previous = []store.Value{old}
			r.Current = value("a2.v1")
		}},
		{"KeyRemoved", func(ks *store.Keyset) { ks.Keys = ks.Keys[:1] }},
		{"KeyAdded", func(ks *store.Keyset) { ks.Keys = append(ks.Keys, key("a3")) }},
		{"Signing", func(ks *store.Keyset) { ks.Signing = "" }},
		{"DueAt", func(ks *store.Keyset) { ks.DueAt = later }},
		{"RemindedAt", func(ks *store.Keyset) { ks.Keys[0].RemindedAt = ks.Keys[0].RemindedAt.Add(time.Microsecond) }},
		{"RemindedFor", func(ks *store.Keyset) { ks.Keys[0].RemindedFor, ks.Keys[0].RemindedAt = time.Time{}, time.Time{} }},
		{"ValueRemindedAt", func(ks *store.Keyset) { ks.Keys[0].Previous[1].RemindedAt = at(90 * time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ks := keyset("acme", 0, fullKey("a1"), key("a2"))
			ks.Signing = "a1"
			save(t, s, ks)
			next := load(t, s, "acme")
			tt.edit(&next)
			save(t, s, next)
			checkKeyset(t, saved(next), load(t, s, "acme")) // the one change is kept, and nothing else moves
		})
	}
}
