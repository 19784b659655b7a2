package storetest

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

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
			_, err := s.Lookup(t.Context(), tt.d)
			is.True(errors.Is(err, store.ErrNotFound)) // an empty store finds nothing

			save(t, s, keyset("acme", 0, fullKey("a1")))
			_, err = s.Lookup(t.Context(), tt.d)
			is.True(errors.Is(err, store.ErrNotFound)) // a digest no value has is not found
		})
	}
}

func testLookupFollowsSaves(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	notFound := func(d secrets.Digest) bool {
		t.Helper()
		_, err := s.Lookup(t.Context(), d)
		return errors.Is(err, store.ErrNotFound)
	}
	found := func(wantOwner string, want store.Record) {
		t.Helper()
		for v := range want.Values() {
			m := lookup(t, s, v.Digest)
			is.Equal(m.Owner, wantOwner) // lookup names the owner that holds the digest
			checkKey(t, want, m.Key)
		}
	}

	acme := keyset("acme", 0, key("a1"), fullKey("a2"))
	globex := keyset("globex", 0, key("g1"))
	save(t, s, acme)
	save(t, s, globex)
	found("acme", acme.Keys[0])
	found("acme", acme.Keys[1])
	found("globex", globex.Keys[0])

	// Remove a2, add a3, rename a1.
	a2 := acme.Keys[1]
	acme = load(t, s, "acme")
	acme.Keys = []store.Record{acme.Keys[0], key("a3")}
	acme.Keys[0].Name = "renamed"
	save(t, s, acme)
	for v := range a2.Values() {
		is.True(notFound(v.Digest)) // no value of a removed key is found
	}
	found("acme", acme.Keys[0]) // a kept key is found as last saved
	found("acme", acme.Keys[1]) // an added key is found
	found("globex", globex.Keys[0])

	// Rotate a1 as package rotation does: its value becomes a previous
	// one, and it gets a new current value, under the same id.
	acme = load(t, s, "acme")
	a1 := &acme.Keys[0]
	old := a1.Current
	old.ExpiresAt = at(time.Hour)
	a1.Previous = []store.Value{old}
	a1.Current = value("a1.v1")
	save(t, s, acme)
	found("acme", acme.Keys[0]) // the old value finds the key, as the new one does

	// End the previous value's window: it goes.
	acme = load(t, s, "acme")
	acme.Keys[0].Previous = nil
	save(t, s, acme)
	is.True(notFound(digest("a1"))) // a value that is removed is no longer found
	found("acme", acme.Keys[0])     // the key still is, by its current one

	// A digest freed by one owner can be used by another.
	globex = load(t, s, "globex")
	g2 := key("g2")
	g2.Current.Digest = digest("a1")
	globex.Keys = append(globex.Keys, g2)
	save(t, s, globex)
	found("globex", globex.Keys[1])
}

func testLookupReportsSigning(t *testing.T, newStore func(t *testing.T) store.Store) {
	is := is.New(t)
	s := newStore(t)
	ks := keyset("acme", 0, fullKey("a1"), fullKey("a2"))
	ks.Keys[1].ExpiresAt = at(48 * time.Hour)
	ks.Signing = "a2"
	save(t, s, ks)

	for _, name := range []string{"a1", "a1.p2", "a2", "a2.p1"} {
		m := lookup(t, s, digest(name))
		is.Equal(m.Signing, "a2")                             // whichever key a digest finds, the owner's designation comes with it
		is.True(m.SigningExpiresAt.Equal(at(48 * time.Hour))) // with when the designated key expires
	}
	ks = load(t, s, "acme")
	ks.Signing = "a1"
	save(t, s, ks)
	m := lookup(t, s, digest("a2"))
	is.Equal(m.Signing, "a1")                                  // a designation moved is seen at once
	is.True(m.SigningExpiresAt.Equal(at(90 * 24 * time.Hour))) // with the expiry of the key now designated
	ks = load(t, s, "acme")
	ks.Signing = ""
	save(t, s, ks)
	m = lookup(t, s, digest("a1"))
	is.Equal(m.Signing, "")              // and one removed
	is.True(m.SigningExpiresAt.IsZero()) // has no expiry
}

// refusal is a save that a store must refuse, after some that it accepts.
type refusal struct {
	name  string
	setup []store.Keyset // saved first, in order
	ks    store.Keyset   // then refused
	want  error          // the error it matches
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
			if !errors.Is(err, tt.want) {
				t.Errorf("save: %v; want an error matching %v", err, tt.want)
			}
			is.True(err != nil) // the keyset is refused

			checkUnchanged(t, before, observeAround(t, s, tt.ks, tt.setup...))
		})
	}
}

// withDigest returns r with its current value's digest that of another
// name.
func withDigest(r store.Record, name string) store.Record {
	r.Current.Digest = digest(name)
	return r
}

func testRefuseDuplicates(t *testing.T, newStore func(t *testing.T) store.Store) {
	checkRefusals(t, newStore, []refusal{
		{
			name:  "DigestOfOtherOwner",
			setup: []store.Keyset{keyset("globex", 0, key("g1"))},
			ks:    keyset("acme", 0, withDigest(key("a1"), "g1")),
			want:  store.ErrDuplicate,
		},
		{
			name:  "DigestOfOtherOwnersPreviousValue",
			setup: []store.Keyset{keyset("globex", 0, fullKey("g1"))},
			ks:    keyset("acme", 0, withDigest(key("a1"), "g1.p2")),
			want:  store.ErrDuplicate,
		},
		{
			name: "DigestOfOtherOwnerOnUpdate",
			setup: []store.Keyset{
				keyset("globex", 0, key("g1")),
				keyset("acme", 0, key("a1")),
			},
			ks:   keyset("acme", 1, key("a1"), withDigest(key("a2"), "g1")),
			want: store.ErrDuplicate,
		},
		{
			name:  "DigestOfOtherOwnerSameID",
			setup: []store.Keyset{keyset("globex", 0, key("k1"))},
			ks:    keyset("acme", 0, key("k1")),
			want:  store.ErrDuplicate,
		},
	})
}

// invalidCase is a keyset that breaks one rule of [store.Keyset.Validate].
type invalidCase struct {
	name  string
	field string // the start of the field the error names
	ks    store.Keyset
}

// invalidKeysets returns a keyset for each rule of Keyset.Validate.
func invalidKeysets() []invalidCase {
	one := func(change func(r *store.Record)) store.Keyset {
		r := fullKey("a1")
		change(&r)
		return keyset("acme", 0, r, key("a2"))
	}
	long := func(n int) string { return strings.Repeat("x", n+1) }
	return []invalidCase{
		{"NoOwner", "Owner", keyset("", 0, key("a1"))},
		{"OwnerWithNUL", "Owner", keyset("ac\x00me", 0, key("a1"))},
		{"OwnerNotUTF8", "Owner", keyset("ac\xffme", 0, key("a1"))},
		{"OwnerTooLong", "Owner", keyset(long(store.MaxOwnerLen), 0, key("a1"))},
		{"NegativeVersion", "Version", keyset("acme", -1, key("a1"))},
		{"KeyWithoutID", "Keys[0].ID", one(func(r *store.Record) { r.ID = "" })},
		{"KeyIDTooLong", "Keys[0].ID", one(func(r *store.Record) { r.ID = long(store.MaxIDLen) })},
		{"KeyIDTwice", "Keys[1].ID", keyset("acme", 0, key("a1"), withDigest(func() store.Record {
			r := key("a1")
			r.Current.ID = "other"
			return r
		}(), "a2"))},
		{"NameWithNUL", "Keys[0].Name", one(func(r *store.Record) { r.Name = "ci\x00" })},
		{"NameNotUTF8", "Keys[0].Name", one(func(r *store.Record) { r.Name = "caf\xe9" })},
		{"NameTooLong", "Keys[0].Name", one(func(r *store.Record) { r.Name = long(store.MaxNameLen) })},
		{"NoFormat", "Keys[0].Format", one(func(r *store.Record) { r.Format = "" })},
		{"BadFormat", "Keys[0].Format", one(func(r *store.Record) { r.Format = "SK_live" })},
		{"WebhookWithoutHMAC", "Keys[0].HMAC", keyset("acme", 0, func() store.Record {
			r := key("a1")
			r.Format = secrets.Webhook
			return r
		}())},
		{"EmptyScope", "Keys[0].Scopes", one(func(r *store.Record) { r.Scopes = []string{"read", ""} })},
		{"ScopeWithNUL", "Keys[0].Scopes", one(func(r *store.Record) { r.Scopes = []string{"re\x00ad"} })},
		{"ScopeTooLong", "Keys[0].Scopes", one(func(r *store.Record) { r.Scopes = []string{long(store.MaxScopeLen)} })},
		{"TooManyScopes", "Keys[0].Scopes", one(func(r *store.Record) {
			r.Scopes = nil
			for i := range store.MaxScopes + 1 {
				r.Scopes = append(r.Scopes, strings.Repeat("s", i+1))
			}
		})},
		{"UnmaskedNetwork", "Keys[0].Networks", one(func(r *store.Record) { r.Networks[0] = netip.PrefixFrom(netip.MustParseAddr("192.0.2.1"), 24) })},
		{"InvalidNetwork", "Keys[0].Networks", one(func(r *store.Record) { r.Networks = append(r.Networks, netip.Prefix{}) })},
		{"TooManyNetworks", "Keys[0].Networks", one(func(r *store.Record) {
			r.Networks = nil
			for i := range store.MaxNetworks + 1 {
				r.Networks = append(r.Networks, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24))
			}
		})},
		{"NegativeRateLimit", "Keys[0].RateLimit", one(func(r *store.Record) { r.RateLimit = -1 })},
		{"ExpiresAfterYear9999", "Keys[0].ExpiresAt", one(func(r *store.Record) { r.ExpiresAt = store.MaxExpiresAt.Add(time.Second) })},
		{"MetadataEmptyKey", "Keys[0].Metadata", one(func(r *store.Record) { r.Metadata[""] = "x" })},
		{"MetadataKeyNotUTF8", "Keys[0].Metadata", one(func(r *store.Record) { r.Metadata["te\xffam"] = "x" })},
		{"MetadataValueWithNUL", "Keys[0].Metadata", one(func(r *store.Record) { r.Metadata["team"] = "pay\x00ments" })},
		{"MetadataKeyTooLong", "Keys[0].Metadata", one(func(r *store.Record) { r.Metadata[long(store.MaxMetadataKeyLen)] = "x" })},
		{"MetadataValueTooLong", "Keys[0].Metadata", one(func(r *store.Record) { r.Metadata["team"] = long(store.MaxMetadataValueLen) })},
		{"TooMuchMetadata", "Keys[0].Metadata", one(func(r *store.Record) {
			for i := range store.MaxMetadata {
				r.Metadata[strings.Repeat("m", i+1)] = "x"
			}
		})},
		{"ValueWithoutID", "Keys[0].Current.ID", one(func(r *store.Record) { r.Current.ID = "" })},
		{"ValueIDTwice", "Keys[0].Previous[1].ID", one(func(r *store.Record) { r.Previous[1].ID = r.Current.ID })},
		{"ValueIDOfOtherKey", "Keys[1].Current.ID", keyset("acme", 0, fullKey("a1"), func() store.Record {
			r := key("a2")
			r.Current.ID = "a1.p1"
			return r
		}())},
		{"ZeroDigest", "Keys[0].Current.Digest", one(func(r *store.Record) { r.Current.Digest = secrets.Digest{} })},
		{"DigestTwiceInKey", "Keys[0].Previous[0].Digest", one(func(r *store.Record) { r.Previous[0].Digest = r.Current.Digest })},
		{"DigestTwiceInKeyset", "Keys[1].Current.Digest", keyset("acme", 0, fullKey("a1"), withDigest(key("a2"), "a1.p2"))},
		{"HintNotUTF8", "Keys[0].Previous[0].Hint", one(func(r *store.Record) { r.Previous[0].Hint = "\xff\xfe" })},
		{"CurrentValueEnds", "Keys[0].Current.ExpiresAt", one(func(r *store.Record) { r.Current.ExpiresAt = at(time.Hour) })},
		{"PreviousValueNeverEnds", "Keys[0].Previous[1].ExpiresAt", one(func(r *store.Record) { r.Previous[1].ExpiresAt = time.Time{} })},
		{"HMACKeyValueNotSealed", "Keys[0].Previous[0].Sealed", one(func(r *store.Record) { r.Previous[0].Sealed = secrets.Sealed{} })},
		{"PlainKeyValueSealed", "Keys[0].Current.Sealed", keyset("acme", 0, func() store.Record {
			r := key("a1")
			r.Current.Sealed = sealed(1)
			return r
		}())},
		{"SealedWithoutKEK", "Keys[0].Current.Sealed", one(func(r *store.Record) { r.Current.Sealed.KEKID = "" })},
		{"SealedWithoutCiphertext", "Keys[0].Current.Sealed", one(func(r *store.Record) { r.Current.Sealed.Ciphertext = nil })},
		{"SigningNamesNoKey", "Signing", func() store.Keyset {
			ks := keyset("acme", 0, fullKey("a1"))
			ks.Signing = "a9"
			return ks
		}()},
		{"SigningNamesKeyThatCannotSign", "Signing", func() store.Keyset {
			ks := keyset("acme", 0, fullKey("a1"), key("a2"))
			ks.Signing = "a2"
			return ks
		}()},
		{"SigningNamesRevokedKey", "Signing", func() store.Keyset {
			r := fullKey("a1")
			r.RevokedAt = at(time.Hour)
			ks := keyset("acme", 0, r)
			ks.Signing = "a1"
			return ks
		}()},
	}
}

func testRefuseInvalid(t *testing.T, newStore func(t *testing.T) store.Store) {
	cases := invalidKeysets()
	var tests []refusal
	for _, c := range cases {
		// The suite's cases must break the rule they are named after,
		// and only Validate's: a backend refuses them because Validate
		// does, which is the same on every backend.
		err := c.ks.Validate()
		var ve *store.ValidationError
		if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, c.field) {
			t.Errorf("storetest: case %s: Validate says %v; want a *store.ValidationError naming %s", c.name, err, c.field)
			continue
		}
		tests = append(tests, refusal{name: c.name, ks: c.ks, want: store.ErrInvalid})
		// The same keyset, saved over an owner that exists.
		if c.field != "Owner" && c.field != "Version" {
			over := c.ks.Clone()
			over.Version = 1
			tests = append(tests, refusal{
				name:  c.name + "OnUpdate",
				setup: []store.Keyset{keyset(over.Owner, 0, key("z1"))},
				ks:    over,
				want:  store.ErrInvalid,
			})
		}
	}
	slices.SortStableFunc(tests, func(a, b refusal) int { return strings.Compare(a.name, b.name) })
	checkRefusals(t, newStore, tests)
}
