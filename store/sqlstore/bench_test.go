package sqlstore_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

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

// BenchmarkRecordUses records a batch of uses of 100,000 distinct keys,
// 100 keys for each of 1,000 owners, every one used later than the batch
// before: what a busy minute leaves for one write. ns/op is the time the
// whole batch takes. rotor writes each value's last use (a key's is read
// from its values'); the floor writes the same 100,000 rows with the
// plainest statement there is, an UPDATE of every row of the table, in
// one transaction.
func BenchmarkRecordUses(b *testing.B) {
	const owners, perOwner = 1_000, 100
	for _, open := range []func(testing.TB) *sqlstoretest.DB{sqlstoretest.SQLite, sqlstoretest.Postgres} {
		db := open(b)
		b.Run(db.Dialect().String(), func(b *testing.B) {
			ctx := b.Context()
			s := db.Open(b)
			uses := make([]store.Use, 0, owners*perOwner)
			for i := range owners {
				ks := store.Keyset{Owner: fmt.Sprintf("owner-%05d", i)}
				for j := range perOwner {
					r := testRecord(fmt.Sprintf("sec-%05d-%03d", i, j))
					ks.Keys = append(ks.Keys, r)
					uses = append(uses, store.Use{Owner: ks.Owner, KeyID: r.ID, ValueID: r.Current.ID, IP: netip.MustParseAddr("192.0.2.1")})
				}
				if err := s.Save(ctx, ks); err != nil {
					b.Fatal(err)
				}
			}
			at := base
			b.Run("rotor", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					at = at.Add(time.Minute)
					for i := range uses {
						uses[i].At = at
					}
					if err := s.RecordUses(ctx, uses); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("floor", func(b *testing.B) {
				pool := db.SQL(b)
				b.ReportAllocs()
				for b.Loop() {
					at = at.Add(time.Minute)
					tx, err := pool.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := tx.ExecContext(ctx, "UPDATE secret_values SET last_used_at = $1, last_used_ip = $2", at.UnixMicro(), "192.0.2.1"); err != nil {
						b.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
