package sqlite_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
)

// A store in a SQLite file keeps its keysets across restarts, and its
// saves are compare-and-swaps on the keyset's version.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rotor-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rotor.db")

	s, err := sqlite.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	digest := secrets.Digest(sha256.Sum256([]byte("sk_test_example")))
	err = s.Save(ctx, store.Keyset{
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
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}

	// As after a restart: open the file again.
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ks, err := s.Load(ctx, "acct_42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version", ks.Version, "holds", ks.Keys[0].ID)

	stale := ks.Clone()
	ks.Keys[0].Name = "CI pipeline"
	if err := s.Save(ctx, ks); err != nil {
		log.Fatal(err)
	}
	stale.Keys[0].Name = "Deploys"
	err = s.Save(ctx, stale)
	fmt.Println("stale save conflicts:", errors.Is(err, store.ErrConflict))

	m, err := s.Lookup(ctx, digest)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Owner, m.Key.ID, m.Key.Name, m.Key.Current.Hint)
	// Output:
	// version 1 holds key_1
	// stale save conflicts: true
	// acct_42 key_1 CI pipeline mple
}
