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
// that another request has already ended.
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
package main

import "github.com/rotorkit/rotor/examples/internal/service"

// app is the service: its routes, its -create-owner, and sealed secrets,
// since an integrator's secret must verify the HMACs it signs with.
var app = service.App{
	Name:        "integrator",
	Seal:        true,
	Handler:     newHandler,
	CreateOwner: createOwner,
}

func main() { service.Main(app) }
