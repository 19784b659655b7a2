package redislimit_test

import (
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/ratelimit/redislimit"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/store/memstore"
)

// Replicas of a service that share one Redis server share every key's
// rate limit: each builds its Authenticator over a Limiter like this one.
// A service reads its health from Stats.
func ExampleNew() {
	opts, err := redis.ParseURL(os.Getenv("ROTOR_REDIS_URL")) // redis://127.0.0.1:6379/0
	if err != nil {
		log.Fatal("ROTOR_REDIS_URL is not a Redis URL") // the error would quote it, password and all
	}
	client := redis.NewClient(opts)
	defer client.Close()
	limiter := redislimit.New(client, &redislimit.Options{Logger: slog.Default()})

	rot, err := rotation.New(memstore.New(), nil) // a shared store, in a real service
	if err != nil {
		log.Fatal(err)
	}
	auth, err := rotationhttp.NewAuthenticator(rot, &rotationhttp.Options{Limiter: limiter})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/things", auth.Require("things:read", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if limiter.Stats().Down {
			w.WriteHeader(http.StatusServiceUnavailable) // rate limits are not being kept
		}
	})
	_ = http.ListenAndServe("127.0.0.1:8080", mux)
}
