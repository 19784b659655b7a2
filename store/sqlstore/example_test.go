package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
)

// Two Stores over one database, as two processes would have: one saves,
// and the other's change log tells it which owners to read again.
func ExampleStore_Changes() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rotor-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rotor.db")
	writer, err := sqlite.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	defer writer.Close()
	reader, err := sqlite.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	defer reader.Close()

	// The empty cursor marks where to ask from, and reports no one.
	_, cursor, err := reader.Changes(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	for _, owner := range []string{"acct_1", "acct_2"} {
		err := writer.Save(ctx, store.Keyset{Owner: owner, Keys: []store.Record{{
			ID:         owner + "_key",
			Attributes: store.Attributes{Name: "CI", Format: "sk_test"},
			Current: store.Value{
				ID:     owner + "_key.v0",
				Hint:   "mple",
				Digest: secrets.Digest(sha256.Sum256([]byte("sk_test_" + owner))),
			},
		}}})
		if err != nil {
			log.Fatal(err)
		}
	}
	owners, cursor, err := reader.Changes(ctx, cursor)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("changed:", owners)
	owners, _, err = reader.Changes(ctx, cursor)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("changed since:", owners)
	// Output:
	// changed: [acct_1 acct_2]
	// changed since: []
}
