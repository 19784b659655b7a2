// Command apikeys serves the API keys of seed 003, a payment API
// (HSRCPAY): secret keys (sk_live_…, sk_test_…) create, list, show, delete
// and regenerate the account's keys over HTTP, under the document's base
// path /v1/api-keys.
//
//	POST   /v1/api-keys                 create a key; its value is shown this once   account:api:key:create
//	GET    /v1/api-keys                 list the environment's keys, without values  account:api:key:read
//	GET    /v1/api-keys/{id}            show one key                                 account:api:key:read
//	DELETE /v1/api-keys/{id}            delete a key for good                        account:api:key:delete
//	POST   /v1/api-keys/{id}/regenerate give a managed key a new value; the old one  account:api:key:update
//	                                    dies at once
//
// Given -scanning-keys FILE, it also takes GitHub's secret scanning
// reports, signed by a key in FILE, and revokes the keys reported:
//
//	POST   /secret-scanning/report      no bearer key: the report's signature authenticates it
//
// Other requests carry "Authorization: Bearer <secret key>". A publishable key
// (pk_…) is refused with 403, anything else that is not a valid secret
// key with 401. A key lives in one environment: live keys (sk_live_…) see
// and change only live keys, sandbox keys (sk_test_…) only sandbox keys,
// and a key created with a sandbox key is a sandbox key. Every reply is
// the document's envelope, {"message", "success", "data"} or
// {"message", "success": false, "error": {"code", "message", "details"}},
// with the numeric codes tabled in README.md beside this file, which says
// more, with a curl walk-through.
//
// Run it with
//
//	go run ./examples/apikeys -data ./apikeys-data -create-owner acme   # prints owner=…, secret=… and test_secret=…
//	go run ./examples/apikeys -data ./apikeys-data [-addr 127.0.0.1:8080]
//
// Keys are kept in a SQLite file under -data, or in PostgreSQL when
// ROTOR_POSTGRES_DSN is set. They only authenticate, so they are kept as
// digests and never sealed: the service needs no key-encryption key.
//
// # Replicas
//
// Replicas that share the database share the keys. For them to share
// each key's rate limit too, set ROTOR_REDIS_URL (such as
// redis://127.0.0.1:6379/0): the budgets are then kept in that Redis
// server, by key id, and a key gets its 100 requests a minute over all
// replicas, not from each. Without it they are kept in the process. If
// Redis stops answering, requests are let through without their limits,
// which is logged and counted, until it answers again.
package main

import (
	"context"

	"github.com/rotorkit/rotor/examples/internal/redisenv"
	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
)

// maxKeys is how many active keys an account may hold in each
// environment: live and sandbox keys are counted apart.
const maxKeys = 25

// rateLimit is the requests a minute every key may make. A key keeps its
// budget through regenerations.
const rateLimit = 100

// app is the whole service, as main runs it and as the tests start it.
var app = service.App{
	Name:        "apikeys",
	Seal:        false, // keys only authenticate: digests alone are kept
	Options:     policy,
	Handler:     newHandler,
	CreateOwner: createOwner,
	Scanning:    true,          // POST /secret-scanning/report, given -scanning-keys
	Redis:       redisenv.Open, // with ROTOR_REDIS_URL, replicas share each key's rate limit
}

// policy sets what the Rotator allows: maxKeys active keys for each owner,
// that is each account and environment. A regeneration gives no grace
// window, so the policy's bound on grace windows never comes into play.
func policy(o *rotation.Options) {
	o.Policy.MaxActive = maxKeys
}

// ownerPermissions are the permissions of the routes, kept as the keys'
// scopes: the permissions object {"account:api:key": ["read", "update"]}
// is the scopes account:api:key:read and account:api:key:update.
// -create-owner's keys hold them all.
var ownerPermissions = []string{"account:api:key:create", "account:api:key:read", "account:api:key:update", "account:api:key:delete"}

// createOwner, the command -create-owner runs, creates the account name
// with a live and a sandbox secret key holding every permission the
// routes need.
func createOwner(ctx context.Context, env service.Env, name string) ([]string, error) {
	if err := service.CheckName("an account", name); err != nil {
		return nil, err // the name is part of the owners "<name>/live" and "<name>/test"
	}
	lines := []string{"owner=" + name}
	for _, e := range []struct{ env, variable string }{{"live", "secret"}, {"test", "test_secret"}} {
		spec := rotation.Spec{Name: "owner key", Format: secrets.Format("sk_" + e.env), Scopes: ownerPermissions, RateLimit: rateLimit}
		k, err := env.Rotator.Create(ctx, name+"/"+e.env, spec)
		if err != nil {
			return nil, err
		}
		lines = append(lines, e.variable+"="+k.Value.Reveal())
	}
	return lines, nil
}

func main() { service.Main(app) }
