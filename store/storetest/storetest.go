package storetest

import (
	"crypto/sha256"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// Run checks that the stores made by newStore keep every promise of
// [store.Store]. Each check is a subtest of t named after what it checks,
// and each asks newStore for a new, empty store, passing its own
// [*testing.T]; a check made of table cases asks once per case. newStore
// may call t.Fatal and t.Cleanup on the t it is given.
// Run waits for every goroutine it starts before it returns.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		if s == nil {
			t.Fatal("storetest: newStore returned a nil store")
		}
		return s
	}
	checks := []struct {
		name string
		run  func(t *testing.T, newStore func(t *testing.T) store.Store)
	}{
		{"LoadUnknownOwner", testLoadUnknownOwner},
		{"SaveLoadRoundTrip", testSaveLoadRoundTrip},
		{"TextRoundTrip", testTextRoundTrip},
		{"SaveEachChange", testSaveEachChange},
		{"SaveCountsVersions", testSaveCountsVersions},
		{"SaveEmptyKeyset", testSaveEmptyKeyset},
		{"ConflictStaleVersion", testConflictStaleVersion},
		{"ConflictNewOwner", testConflictNewOwner},
		{"IsolationOfSavedKeyset", testIsolationOfSavedKeyset},
		{"IsolationOfLoadedKeyset", testIsolationOfLoadedKeyset},
		{"IsolationOfLookedUpKey", testIsolationOfLookedUpKey},
		{"LookupUnknownDigest", testLookupUnknownDigest},
		{"LookupFollowsSaves", testLookupFollowsSaves},
		{"LookupReportsSigning", testLookupReportsSigning},
		{"RefuseDuplicates", testRefuseDuplicates},
		{"RefuseInvalid", testRefuseInvalid},
		{"RecordUsesBatch", testRecordUsesBatch},
		{"RecordUsesNeverMoveBack", testRecordUsesNeverMoveBack},
		{"SaveKeepsRecordedUse", testSaveKeepsRecordedUse},
		{"SaveKeepsUseOfRemovedValue", testSaveKeepsUseOfRemovedValue},
		{"CancelledContext", testCancelledContext},
		{"ErrorsOmitDigests", testErrorsOmitDigests},
		{"OpErrors", testOpErrors},
		{"ConcurrentSaves", testConcurrentSaves},
		{"DueLister", testDueLister},
		{"OwnerLister", testOwnerLister},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, fresh) })
	}
}

// base is the suite's reference instant: UTC and a whole number of
// microseconds, so that SQL backends can keep it exactly.
var base = time.Date(2025, time.March, 14, 9, 26, 53, 589793000, time.UTC)

// at returns the instant d after base.
func at(d time.Duration) time.Time { return base.Add(d) }

// digest returns a distinct digest for each name, as if it were a key.
func digest(name string) secrets.Digest {
	return secrets.Digest(sha256.Sum256([]byte("storetest key " + name)))
}

// value returns a value whose id is id and whose digest is digest(id).
func value(id string) store.Value {
	return store.Value{ID: id, Hint: "abcd", Digest: digest(id), CreatedAt: base}
}

// key returns a valid key with few fields set: the id, a name, the
// format, and one value whose id is id+".v0" and whose digest is
// digest(id).
func key(id string) store.Record {
	v := value(id + ".v0")
	v.Digest = digest(id)
	return store.Record{
		ID:         id,
		Attributes: store.Attributes{Name: "key " + id, Format: "sk_live"},
		CreatedAt:  base,
		UpdatedAt:  base,
		Current:    v,
	}
}

// sealed returns bytes that stand for a sealed value: not text, so a
// backend must store them as bytes.
func sealed(n byte) secrets.Sealed {
	return secrets.Sealed{
		KEKID:      "kek-2025-03",
		Ciphertext: []byte{0x00, 0xff, n, 0x80, 0x7f, 0x0a, 0x0d, 0x27, 0x22, 0x5c, 0xc3, 0x28, 0x01, 0xfe},
	}
}

// fullKey returns a key with every field set, that signs HMACs and so may
// be designated: a current value whose digest is digest(id) and two
// previous ones, each with every field set.
func fullKey(id string) store.Record {
	r := key(id)
	r.Attributes = store.Attributes{
		Name:   "Production key " + id,
		Format: "sk_live",
		Custom: true,
		HMAC:   true,
		Scopes: []string{"account:api:key:read", "account:api:key:update"},
		Networks: []netip.Prefix{
			netip.MustParsePrefix("192.0.2.0/24"),
			netip.MustParsePrefix("2001:db8::/32"),
		},
		RateLimit: 600,
		Metadata:  map[string]string{"team": "payments", "ticket": "OPS-42", "note": ""},
		ExpiresAt: at(90 * 24 * time.Hour),
	}
	r.CreatedAt = at(0)
	r.UpdatedAt = at(time.Hour)
	r.RemindedFor = r.ExpiresAt
	r.RemindedAt = at(76*24*time.Hour + 7*time.Microsecond)
	r.LastUsedAt = at(2*time.Hour + 123*time.Microsecond)
	r.LastUsedIP = netip.MustParseAddr("203.0.113.9")
	r.Current.Hint = "x7Qa"
	r.Current.Sealed = sealed(1)
	r.Current.CreatedAt = at(time.Hour)
	r.Current.LastUsedAt = r.LastUsedAt
	r.Current.LastUsedIP = r.LastUsedIP
	for i, name := range []string{".p1", ".p2"} {
		p := value(id + name)
		p.Hint = []string{"é€😀x", `a"'\`}[i] // characters of every width, and quotes
		p.Sealed = sealed(byte(2 + i))
		p.CreatedAt = at(-time.Duration(i+1) * time.Hour)
		p.ExpiresAt = at(time.Duration(2-i) * time.Hour)
		p.LastUsedAt = at(time.Duration(i+1) * time.Minute)
		p.LastUsedIP = netip.MustParseAddr("2001:db8:4006:812::200e")
		if i == 0 {
			p.RemindedAt = at(time.Hour + 50*time.Minute)
		}
		r.Previous = append(r.Previous, p)
	}
	return r
}

// keyset returns a keyset of the owner at the version, holding keys.
func keyset(owner string, version int64, keys ...store.Record) store.Keyset {
	return store.Keyset{Owner: owner, Version: version, Keys: keys}
}

// cmpOpts compare what a store hands back with what was saved: times by
// [time.Time.Equal] (go-cmp uses Equal methods), addresses and prefixes
// with ==, and nil the same as empty.
var cmpOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
}

// save saves ks and fails the test if that fails.
func save(t *testing.T, s store.Store, ks store.Keyset) {
	t.Helper()
	if err := s.Save(t.Context(), ks); err != nil {
		t.Fatalf("save %q at version %d: %v", ks.Owner, ks.Version, err)
	}
}

// load loads the owner's keyset and fails the test if that fails.
func load(t *testing.T, s store.Store, owner string) store.Keyset {
	t.Helper()
	ks, err := s.Load(t.Context(), owner)
	if err != nil {
		t.Fatalf("load %q: %v", owner, err)
	}
	return ks
}

// lookup looks d up and fails the test if that fails.
func lookup(t *testing.T, s store.Store, d secrets.Digest) store.Match {
	t.Helper()
	m, err := s.Lookup(t.Context(), d)
	if err != nil {
		t.Fatalf("lookup of a stored digest: %v", err)
	}
	return m
}

// checkKeyset reports how got differs from want.
func checkKeyset(t *testing.T, want, got store.Keyset) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("keyset %q differs (-want +got):\n%s", want.Owner, diff)
	}
}

// checkKey reports how got differs from want.
func checkKey(t *testing.T, want, got store.Record) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("key %q differs (-want +got):\n%s", want.ID, diff)
	}
}

// saved returns ks as a store shows it after saving it once more.
func saved(ks store.Keyset) store.Keyset {
	out := ks.Clone()
	out.Version++
	return out
}

// digestsOf returns the digests of every value of every key in ks.
func digestsOf(ks store.Keyset) []secrets.Digest {
	var ds []secrets.Digest
	for i := range ks.Keys {
		for v := range ks.Keys[i].Values() {
			ds = append(ds, v.Digest)
		}
	}
	return ds
}

// state is what a store shows of some owners and digests.
type state struct {
	Keysets map[string]store.Keyset        // the owners that load
	Matches map[secrets.Digest]store.Match // what the digests find
}

// observe loads each owner and looks each digest up, treating not found
// as an answer and any other error as a failure.
func observe(t *testing.T, s store.Store, owners []string, digests []secrets.Digest) state {
	t.Helper()
	st := state{
		Keysets: make(map[string]store.Keyset),
		Matches: make(map[secrets.Digest]store.Match),
	}
	for _, o := range owners {
		ks, err := s.Load(t.Context(), o)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			t.Fatalf("load %q: %v", o, err)
		default:
			st.Keysets[o] = ks
		}
	}
	for _, d := range digests {
		m, err := s.Lookup(t.Context(), d)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			t.Fatalf("lookup: %v", err)
		default:
			st.Matches[d] = m
		}
	}
	return st
}

// observeAround observes the owners and digests that ks and setup name.
func observeAround(t *testing.T, s store.Store, ks store.Keyset, setup ...store.Keyset) state {
	t.Helper()
	var owners []string
	var digests []secrets.Digest
	for _, k := range append([]store.Keyset{ks}, setup...) {
		// A keyset without a valid owner is never stored, and what
		// loading such an owner does is up to the store.
		if store.ValidOwner(k.Owner) {
			owners = append(owners, k.Owner)
		}
		digests = append(digests, digestsOf(k)...)
	}
	return observe(t, s, owners, digests)
}

// checkUnchanged reports how the store changed between two observations
// that should be the same.
func checkUnchanged(t *testing.T, before, after state) {
	t.Helper()
	if diff := cmp.Diff(before, after, cmpOpts); diff != "" {
		t.Errorf("a refused operation changed what the store shows (-want +got):\n%s", diff)
	}
}
