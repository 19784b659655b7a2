// Command apitokens serves the organization API tokens of seed 001
// (Katapult's core API): a token is created, listed and has its secret
// regenerated over HTTP, and every request is authenticated by a token's
// secret in "Authorization: Bearer <secret>".
//
//	POST /api_tokens                            create a token; its secret is shown this once
//	GET  /api_tokens                            list the organization's tokens, without secrets
//	POST /api_tokens/api_token/regenerate_secret give a token a new secret; the old one dies at once
//
// Given -scanning-keys FILE, it also takes GitHub's secret scanning
// reports, signed by a key in FILE, and revokes the tokens reported:
//
//	POST /secret-scanning/report                 no bearer token: the report's signature authenticates it
//
// Every other route needs the scope api_tokens. A token has an id, which it
// keeps through regenerations, a name, its organization (its owner),
// authorized IP addresses and networks, an expiry, a per-minute rate
// limit, which it also keeps, and scopes. Errors are
// {"code", "description", "detail"} with the document's codes and statuses.
// README.md beside this file says more, with a curl walk-through.
//
// Run it with
//
//	go run ./examples/apitokens -data ./apitokens-data -create-owner acme   # prints owner=… and secret=…
//	go run ./examples/apitokens -data ./apitokens-data [-addr 127.0.0.1:8080]
//
// The tokens are kept in a SQLite file under -data, or in PostgreSQL when
// ROTOR_POSTGRES_DSN is set. Token secrets only authenticate, so they are
// kept as digests and never sealed: the service needs no key-encryption
// key.
//
// # Replicas
//
// Replicas that share the database share the tokens. For them to share
// each token's rate limit too, set ROTOR_REDIS_URL (such as
// redis://127.0.0.1:6379/0): the budgets are then kept in that Redis
// server, by token id, and a token limited to n a minute gets n over all
// replicas, not n from each. Without it they are kept in the process. If
// Redis stops answering, requests are let through without their limits,
// which is logged and counted, until it answers again.
package main

import (
	"context"
	"strings"

	"github.com/rotorkit/rotor/examples/internal/redisenv"
	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
)

// format is the shape of token secrets: apitoken_live_ and 49 base62
// characters, the last six a checksum that turns away typos unread.
const format = "apitoken_live"

// maxTokens is how many unexpired tokens an organization may hold.
const maxTokens = 50

// app is the whole service, as main runs it and as the tests start it.
var app = service.App{
	Name: "apitokens",
	Seal: false, // secrets only authenticate: digests alone are kept
	Options: func(o *rotation.Options) {
		o.Format = format
		o.Policy.MaxActive = maxTokens
	},
	Handler:     newHandler,
	CreateOwner: createOwner,
	Scanning:    true,          // POST /secret-scanning/report, given -scanning-keys
	Redis:       redisenv.Open, // with ROTOR_REDIS_URL, replicas share each token's rate limit
}

// createOwner, the command -create-owner runs, creates the organization
// name with its first token, which holds every scope the routes need, and
// returns the shell assignments owner=… and secret=…, the name quoted so
// that eval gives it back whatever it holds.
func createOwner(ctx context.Context, env service.Env, name string) ([]string, error) {
	issued, err := env.Rotator.Create(ctx, name, rotation.Spec{Name: "owner", Scopes: []string{scope}})
	if err != nil {
		return nil, err
	}
	return []string{"owner='" + strings.ReplaceAll(name, "'", `'\''`) + "'", "secret=" + issued.Value.Reveal()}, nil
}

func main() { service.Main(app) }
