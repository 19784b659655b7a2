package memstore_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/matryer/is"

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

func TestOpError(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	d := secrets.Digest(sha256.Sum256([]byte("k1")))
	if err := s.Save(ctx, store.Keyset{Owner: "acme", Secrets: []store.Record{{ID: "k1", Digest: d}}}); err != nil {
		t.Fatal(err)
	}
	_, loadErr := s.Load(ctx, "globex")
	saveErr := s.Save(ctx, store.Keyset{Owner: "acme"})
	_, _, lookupErr := s.Lookup(ctx, secrets.Digest{1})

	tests := []struct {
		name  string
		err   error
		op    string
		owner string
		cause error
	}{
		{name: "Load", err: loadErr, op: "load", owner: "globex", cause: store.ErrNotFound},
		{name: "Save", err: saveErr, op: "save", owner: "acme", cause: store.ErrConflict},
		{name: "Lookup", err: lookupErr, op: "lookup", owner: "", cause: store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var oe *store.OpError
			is.True(errors.As(tt.err, &oe))      // every error is an *OpError
			is.Equal(oe.Op, tt.op)               // naming the operation
			is.Equal(oe.Owner, tt.owner)         // and the owner
			is.True(errors.Is(oe.Err, tt.cause)) // around the cause
			var inner *store.OpError
			is.True(!errors.As(oe.Err, &inner)) // wrapped once
		})
	}
}

// BenchmarkLookup looks digests up in a store of 10,000 owners with three
// secrets each.
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
			ks.Secrets = append(ks.Secrets, store.Record{
				ID:       id,
				Name:     "key " + id,
				Scopes:   []string{"read", "write"},
				Metadata: map[string]string{"team": "payments"},
				Hint:     id[len(id)-4:],
				Digest:   d,
			})
		}
		if err := s.Save(ctx, ks); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := s.Lookup(ctx, digests[i%len(digests)]); err != nil {
			b.Fatal(err)
		}
		i += 7919 // a prime stride, so successive lookups touch different owners
	}
}
