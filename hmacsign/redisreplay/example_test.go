package redisreplay_test

import (
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/hmacsign/redisreplay"
)

// Replicas of a service that share one Redis server refuse each other's
// replays: each builds its Verifier over a Guard like this one.
func ExampleNew() {
	opts, err := redis.ParseURL(os.Getenv("ROTOR_REDIS_URL")) // redis://127.0.0.1:6379/0
	if err != nil {
		log.Fatal("ROTOR_REDIS_URL is not a Redis URL") // the error would quote it, password and all
	}
	client := redis.NewClient(opts)
	defer client.Close()
	guard := redisreplay.New(client, &redisreplay.Options{Logger: slog.Default()})

	var keys hmacsign.KeySource = hmacsign.StaticKeys{} // a *rotation.Rotator, in a real service
	verifier, err := hmacsign.NewVerifier(keys, &hmacsign.VerifierOptions{Replay: guard})
	if err != nil {
		log.Fatal(err)
	}
	owner := func(r *http.Request) (string, error) { return r.Header.Get("Integrator-Id"), nil }
	signed, err := hmacsign.Middleware(verifier, owner, nil) // a replay is a 401; Redis down, a 500 to retry
	if err != nil {
		log.Fatal(err)
	}
	_ = http.ListenAndServe("127.0.0.1:8080", signed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
}
