package memstore_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
	"github.com/rotorkit/rotor/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
}

func TestZeroValue(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return new(memstore.Store) })
}

// BenchmarkLookup looks digests up in a store of 10,000 owners with three
// keys each.
func BenchmarkLookup(b *testing.B) {
	const owners = 10_000
	ctx := b.Context()
	s := memstore.New()
	digests := make([]secrets.Digest, 0, owners*3)
	for i := range owners {
		ks := store.Keyset{Owner: fmt.Sprintf("owner-%05d", i)}
		for j := range 3 {
			id := fmt.Sprintf("sec-%05d-%d", i, j)
			d := secrets.Digest(sha256.Sum256([]byte(id)))
			digests = append(digests, d)
			ks.Keys = append(ks.Keys, store.Record{
				ID: id,
				Attributes: store.Attributes{
					Name:     "key " + id,
					Format:   "sk_live",
					Scopes:   []string{"read", "write"},
					Metadata: map[string]string{"team": "payments"},
				},
				Current: store.Value{ID: id + ".v0", Hint: id[len(id)-4:], Digest: d},
			})
		}
		if err := s.Save(ctx, ks); err != nil {
			b.Fatal(err)
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
}
