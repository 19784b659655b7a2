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
// Requests carry "Authorization: Bearer <secret key>". A publishable key
// (pk_…) is refused with 403, anything else that is not a valid secret
// key with 401. A key lives in one environment: live keys (sk_live_…) see
// and change only live keys, sandbox keys (sk_test_…) only sandbox keys,
// and a key created with a sandbox key is a sandbox key. Every reply is
// the document's envelope, {"message", "success", "data"} or
// {"message", "success": false, "error": {"code", "message", "details"}},
// with the numeric codes of errorTable (in api.go). README.md beside this
// file says more, with a curl walk-through.
//
// Run it with
//
//	go run ./examples/apikeys -data ./apikeys-data -create-owner acme   # prints owner=…, secret=… and test_secret=…
//	go run ./examples/apikeys -data ./apikeys-data [-addr 127.0.0.1:8080]
//
// Keys are kept in a SQLite file under -data, or in PostgreSQL when
// ROTOR_POSTGRES_DSN is set. They only authenticate, so they are kept as
// digests and never sealed: the service needs no key-encryption key.
package main

import (
	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
)

// maxKeys is how many active keys an account may hold in each
// environment: live and sandbox keys are counted apart.
const maxKeys = 25

// app is the whole service, as main runs it and as the tests start it.
var app = service.App{
	Name:        "apikeys",
	Seal:        false, // keys only authenticate: digests alone are kept
	Options:     policy,
	Handler:     newHandler,
	CreateOwner: createOwner,
}

// policy sets what the Rotator allows: maxKeys active keys for each owner,
// that is each account and environment. A regeneration gives no grace
// window, so the policy's bound on grace windows never comes into play.
func policy(o *rotation.Options) {
	o.Policy.MaxActive = maxKeys
}

func main() { service.Main(app) }
