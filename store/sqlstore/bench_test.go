package sqlstore_test

import (
	"fmt"
	"testing"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// benchDialects runs bench once per dialect, with a new store of each.
func benchDialects(b *testing.B, bench func(b *testing.B, s *sqlstore.Store)) {
	b.Run("sqlite", func(b *testing.B) { bench(b, sqlstoretest.SQLite(b).Open(b)) })
	b.Run("postgres", func(b *testing.B) { bench(b, sqlstoretest.Postgres(b).Open(b)) })
}

// benchKeyset returns owner i's keyset of three keys with every
// field a rotated API key has.
func benchKeyset(i int) store.Keyset {
	ks := store.Keyset{Owner: fmt.Sprintf("owner-%05d", i)}
	for j := range 3 {
		id := fmt.Sprintf("sec-%05d-%d", i, j)
		r := testRecord(id)
		r.HMAC = true
		r.Scopes = []string{"read", "write"}
		r.Metadata = map[string]string{"team": "payments"}
		r.Current.Sealed = secrets.Sealed{KEKID: "kek-1", Ciphertext: make([]byte, 24+43+6+16)}
		ks.Keys = append(ks.Keys, r)
	}
	return ks
}

// BenchmarkLookup looks digests up in a store of 1,000 owners with three
// keys each: one indexed query and the decoding of one key.
func BenchmarkLookup(b *testing.B) {
	const owners = 1_000
	benchDialects(b, func(b *testing.B, s *sqlstore.Store) {
		ctx := b.Context()
		var digests []secrets.Digest
		for i := range owners {
			ks := benchKeyset(i)
			if err := s.Save(ctx, ks); err != nil {
				b.Fatal(err)
			}
			for _, r := range ks.Keys {
				digests = append(digests, r.Current.Digest)
			}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.Lookup(ctx, digests[i%len(digests)]); err != nil {
				b.Fatal(err)
			}
			i += 7919 // a prime stride, so successive lookups touch different owners
		}
	})
}

// BenchmarkSave saves a keyset of three keys over its previous
// version, renaming one: the compare-and-swap, three upserts and a commit.
func BenchmarkSave(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *sqlstore.Store) {
		ctx := b.Context()
		ks := benchKeyset(0)
		b.ReportAllocs()
		for b.Loop() {
			ks.Keys[1].Name = fmt.Sprintf("renamed at version %d", ks.Version)
			if err := s.Save(ctx, ks); err != nil {
				b.Fatal(err)
			}
			ks.Version++
		}
	})
}
