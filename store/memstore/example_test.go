package memstore_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

// Two writers read the same version of a keyset; the second save loses
// and must read again.
func Example() {
	ctx := context.Background()
	s := memstore.New()
	digest := secrets.Digest(sha256.Sum256([]byte("sk_test_example")))
	err := s.Save(ctx, store.Keyset{
		Owner: "acct_42",
		Keys: []store.Record{{
			ID:         "key_1",
			Attributes: store.Attributes{Name: "CI", Format: "sk_test"},
			Current:    store.Value{ID: "key_1.v0", Hint: "mple", Digest: digest},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}

	first, err := s.Load(ctx, "acct_42")
	if err != nil {
		log.Fatal(err)
	}
	second := first.Clone()

	first.Keys[0].Name = "CI pipeline"
	if err := s.Save(ctx, first); err != nil {
		log.Fatal(err)
	}
	second.Keys[0].Name = "Deploys"
	err = s.Save(ctx, second)
	fmt.Println("second save conflicts:", errors.Is(err, store.ErrConflict))

	m, err := s.Lookup(ctx, digest)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Owner, m.Key.ID, m.Key.Name, m.Key.Current.Hint)
	// Output:
	// second save conflicts: true
	// acct_42 key_1 CI pipeline mple
}
