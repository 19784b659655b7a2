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
		{"SaveCountsVersions", testSaveCountsVersions},
		{"SaveEmptyKeyset", testSaveEmptyKeyset},
		{"ConflictStaleVersion", testConflictStaleVersion},
		{"ConflictNewOwnerAtNonZeroVersion", testConflictNewOwner},
		{"IsolationOfSavedKeyset", testIsolationOfSavedKeyset},
		{"IsolationOfLoadedKeyset", testIsolationOfLoadedKeyset},
		{"IsolationOfLookedUpRecord", testIsolationOfLookedUpRecord},
		{"LookupUnknownDigest", testLookupUnknownDigest},
		{"LookupFollowsSaves", testLookupFollowsSaves},
		{"RefuseDuplicates", testRefuseDuplicates},
		{"RefuseInvalid", testRefuseInvalid},
		{"RecordUsesBatch", testRecordUsesBatch},
		{"RecordUsesNeverMoveBack", testRecordUsesNeverMoveBack},
		{"SaveKeepsRecordedUse", testSaveKeepsRecordedUse},
		{"CancelledContext", testCancelledContext},
		{"ErrorsOmitDigests", testErrorsOmitDigests},
		{"OpErrors", testOpErrors},
		{"ConcurrentSaves", testConcurrentSaves},
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

// record returns a valid record with few fields set, whose digest is
// digest(id).
func record(id string) store.Record {
	return store.Record{
		ID:        id,
		Name:      "key " + id,
		CreatedAt: base,
		UpdatedAt: base,
		Hint:      "abcd",
		Digest:    digest(id),
	}
}

// fullRecord returns a record with every field set, whose digest is
// digest(id).
func fullRecord(id string) store.Record {
	return store.Record{
		ID:     id,
		Name:   "Production key " + id,
		Format: "sk_live",
		Custom: true,
		Scopes: []string{"account:api:key:read", "account:api:key:update"},
		Networks: []netip.Prefix{
			netip.MustParsePrefix("192.0.2.0/24"),
			netip.MustParsePrefix("2001:db8::/32"),
		},
		RateLimit:  600,
		Metadata:   map[string]string{"team": "payments", "ticket": "OPS-42", "note": ""},
		CreatedAt:  at(0),
		UpdatedAt:  at(time.Hour),
		ExpiresAt:  at(90 * 24 * time.Hour),
		RevokedAt:  at(30*24*time.Hour + time.Microsecond),
		ReplacedBy: id + "-next",
		LastUsedAt: at(2*time.Hour + 123*time.Microsecond),
		LastUsedIP: netip.MustParseAddr("203.0.113.9"),
		Signing:    true,
		Hint:       "x7Qa",
		Digest:     digest(id),
		Sealed: secrets.Sealed{
			KEKID: "kek-2025-03",
			// Bytes that are not text: a backend must store them as bytes.
			Ciphertext: []byte{0x00, 0xff, 0x10, 0x80, 0x7f, 0x0a, 0x0d, 0x27, 0x22, 0x5c, 0xc3, 0x28, 0x01, 0xfe},
		},
	}
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
func lookup(t *testing.T, s store.Store, d secrets.Digest) (string, store.Record) {
	t.Helper()
	owner, rec, err := s.Lookup(t.Context(), d)
	if err != nil {
		t.Fatalf("lookup of a stored digest: %v", err)
	}
	return owner, rec
}

// checkKeyset reports how got differs from want.
func checkKeyset(t *testing.T, want, got store.Keyset) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("keyset %q differs (-want +got):\n%s", want.Owner, diff)
	}
}

// checkRecord reports how got differs from want.
func checkRecord(t *testing.T, want, got store.Record) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("record %q differs (-want +got):\n%s", want.ID, diff)
	}
}

// saved returns ks as a store shows it after saving it once more.
func saved(ks store.Keyset) store.Keyset {
	out := ks.Clone()
	out.Version++
	return out
}

// state is what a store shows of some owners and digests.
type state struct {
	Keysets map[string]store.Keyset         // the owners that load
	Holders map[secrets.Digest]string       // "owner/id" of the digests found
	Records map[secrets.Digest]store.Record // the records found by digest
}

// observe loads each owner and looks each digest up, treating not found
// as an answer and any other error as a failure.
func observe(t *testing.T, s store.Store, owners []string, digests []secrets.Digest) state {
	t.Helper()
	st := state{
		Keysets: make(map[string]store.Keyset),
		Holders: make(map[secrets.Digest]string),
		Records: make(map[secrets.Digest]store.Record),
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
		owner, rec, err := s.Lookup(t.Context(), d)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			t.Fatalf("lookup: %v", err)
		default:
			st.Holders[d] = owner + "/" + rec.ID
			st.Records[d] = rec
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
		// A keyset without an owner is never stored, and what loading
		// the empty owner does is up to the store.
		if k.Owner != "" {
			owners = append(owners, k.Owner)
		}
		for _, r := range k.Secrets {
			digests = append(digests, r.Digest)
		}
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
