package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/store/sqlstore/postgres"
)

// Each replica of a service opens the shared database and runs its
// Rotator, whose cache hears through LISTEN/NOTIFY of the keys the other
// replicas regenerate or revoke.
func ExampleOpen() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	st, err := postgres.Open(ctx, os.Getenv("ROTOR_POSTGRES_DSN"))
	if err != nil {
		log.Fatal(err) // never quotes the connection string
	}
	defer st.Close()
	r, err := rotation.New(st, nil)
	if err != nil {
		log.Fatal(err)
	}
	go r.Run(ctx) // until stop
	_ = r         // the service's handlers use r
}
