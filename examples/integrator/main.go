// Command integrator serves the integrator API of seed
// 000_fcba85229ffc657b: POST /v1/integrator/regenerate-secret gives the
// calling integrator a new API secret, shown this once, and keeps the old
// one working for the grace window asked for, 0 to 3600 seconds.
//
//	export ROTOR_KEK=$(openssl rand -base64 32)   # or -kek ./integrator.kek, kept outside -data
//	go run ./examples/integrator -data ./integrator-data -create-owner acme   # prints owner=… and secret=…, once
//	go run ./examples/integrator -data ./integrator-data [-addr 127.0.0.1:8080]
//
// # Authentication
//
// An integrator signs each request with its secret in the Standard
// Webhooks scheme: webhook-id, webhook-timestamp (Unix seconds) and
// webhook-signature ("v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body", keyed with the bytes of the whole secret string,
// as rotor's design defines it for sk_live_ keys). The header
// Integrator-Id names the integrator whose secret must have signed it
// (the owner=… that -create-owner prints); a signed request without it is
// refused like any other bad signature (401 unknown_owner). Every value of
// the integrator's secret valid at that instant verifies: during a grace
// window the old one and the new one both do, from its end only the new
// one. A message id is accepted once; a timestamp may be five minutes off.
//
// A request without a webhook-signature header must carry
// "Authorization: Bearer <secret>" instead, a key that needs the scope
// integrator:secret, which -create-owner grants.
//
// The body is {"oldSecretValidForSeconds": n}, n a whole number from 0 to
// 3600; an empty body and {} mean 0, the old secret dies at once. The
// reply is {"secret": "…"}, with "oldSecretExpiresAt" (RFC 3339) when n >
// 0. The secret keeps its id.
//
// # Concurrent regenerations
//
// A regeneration happens only if the secret's value is still the one that
// was current when the request was let in; of concurrent requests one
// wins and the others get 412 secret_changed, so nobody is handed a value
// that another request has already ended. A bearer key's current value
// comes with the key; a signed request's is read just before its
// signature is checked, since hmacsign tells which secret signed, not
// which of its values.
//
// Across replicas sharing a database this holds too. A replica that has
// not yet heard of another's regeneration (at once through PostgreSQL's
// notifications, within the poll interval otherwise, and never later than
// the cache's MaxAge) may still let in the value that the other replica
// has just replaced. But the current value the request is let in with
// comes from the same cached keyset as the keys it was verified with, or
// a newer one, so the store's compare-and-swap makes such a request a
// 412: it never ends the value the other replica handed out.
//
// # Errors
//
// Errors are RFC 9457 problem details (application/problem+json): 401
// with realm and scope and a WWW-Authenticate challenge, 404 with
// resourceType and resourceId (for unknown routes too, and for paths that
// are not clean, which are never redirected), 412 for a lost race, 422
// naming oldSecretValidForSeconds for a grace value out of range, changing
// nothing, and 500 with no detail.
//
// Secrets are kept in a SQLite file under -data, or in PostgreSQL when
// ROTOR_POSTGRES_DSN is set, sealed under the key-encryption key of
// ROTOR_KEK or -kek FILE. Logs go to stderr and never hold a secret.
//
// # Replicas
//
// A message id is accepted once by the replica that got it; for replicas
// that share the database to refuse each other's replays, set
// ROTOR_REDIS_URL (such as redis://127.0.0.1:6379/0): the ids accepted
// are then kept in that Redis server until the message's timestamp is
// out of tolerance, and a message accepted by one replica is a replay
// (401 replayed) to every other. Without it they are kept in the
// process. If Redis stops answering, signed requests are refused with
// 503, to be retried, which is logged and counted, until it answers
// again; bearer requests need no Redis.
package main

import (
	"context"
	"fmt"

	"github.com/rotorkit/rotor/examples/internal/redisenv"
	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
)

// app is the service: its routes, its -create-owner, and sealed secrets,
// since an integrator's secret must verify the HMACs it signs with.
var app = service.App{
	Name:        "integrator",
	Seal:        true,
	Handler:     newHandler,
	CreateOwner: createOwner,
	Redis:       redisenv.Open, // with ROTOR_REDIS_URL, replicas share rate limits and refuse each other's replays
}

// createOwner, the command -create-owner runs, creates the integrator
// name with its secret, which can verify HMACs and holds the route's
// scope, and returns the shell assignments that show them, this once.
func createOwner(ctx context.Context, env service.Env, name string) ([]string, error) {
	if err := service.CheckName("an integrator's", name); err != nil {
		return nil, err // the name goes in the Integrator-Id header
	}
	existing, err := env.Rotator.List(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("integrator %s exists already", name)
	}
	iss, err := env.Rotator.Create(ctx, name, rotation.Spec{Name: "API secret", HMAC: true, Scopes: []string{scope}})
	if err != nil {
		return nil, err
	}
	return []string{"owner=" + name, "secret=" + iss.Value.Reveal()}, nil
}

func main() { service.Main(app) }
