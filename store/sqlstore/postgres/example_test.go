package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/store/cachestore"
	"github.com/rotorkit/rotor/store/sqlstore/postgres"
)

// Each replica of a service opens the shared database, keeps a cache in
// front of it, and runs the cache, which hears through LISTEN/NOTIFY of
// the keys the other replicas regenerate or revoke.
func ExampleOpen() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	st, err := postgres.Open(ctx, os.Getenv("ROTOR_POSTGRES_DSN"))
	if err != nil {
		log.Fatal(err) // never quotes the connection string
	}
	defer st.Close()
	cache, err := cachestore.New(st, nil)
	if err != nil {
		log.Fatal(err)
	}
	go cache.Run(ctx) // until stop
	r, err := rotation.New(cache, nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = r // the service's handlers use r
}
