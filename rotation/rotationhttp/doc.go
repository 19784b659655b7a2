// Package rotationhttp holds the net/http pieces that every handler built
// on a [rotation.Rotator] needs: the answer to every rotor error as data
// that any wire shape can render, bearer-key middleware, routes that
// answer in the same shape, and strict decoding of request bodies.
//
// A service wires it in like this; the handlers are the service's own:
//
//	rot, err := rotation.New(st, nil)
//	...
//	auth, err := rotationhttp.NewAuthenticator(rot, &rotationhttp.Options{Realm: "example"})
//	...
//	mux := http.NewServeMux()
//	mux.Handle("POST /v1/secrets/{id}/regenerate", auth.Require("secrets:write",
//		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//			p, _ := rotationhttp.FromContext(r.Context())
//			grace, err := rotationhttp.DecodeRegenerate(r, rot.Policy().MaxGracePeriod)
//			if err != nil {
//				auth.Error(w, r, err) // 413 or 422, naming the field
//				return
//			}
//			res, err := rot.Regenerate(r.Context(), p.Owner, r.PathValue("id"), grace)
//			if err != nil {
//				auth.Error(w, r, err) // 404, 409, 503, ...
//				return
//			}
//			rotationhttp.WriteJSON(w, http.StatusOK, map[string]string{"secret": res.Value.Reveal()})
//		})))
//	srv := &http.Server{Handler: rotationhttp.Routes(mux, auth.Render)}
//
// # Failures and renderers
//
// [FailureFor] maps any error to a [Failure]: its status, a stable machine
// code (the Code constants), a sentence for a human, and the members the
// kind of failure calls for, such as the realm and scope of a refused
// key, the resource type and id of a 404, the invalid fields of a 422, or
// the permitted total and retry time of a 429. Its doc comment holds the
// whole table. A [Renderer] writes a Failure in the service's shape:
// [WriteProblem] writes RFC 9457 problem details; a service whose API uses
// another body writes its own in a few lines, and may change a status or
// a sentence per code first. [Options].Render is the one an
// Authenticator uses for everything it answers: refusals,
// [Authenticator.Error], and [Routes] through [Authenticator.Render].
//
// # Authentication
//
// [Authenticator.Require] wraps a handler so it runs only for requests
// that carry "Authorization: Bearer <key>" with a key the Rotator accepts
// from the client's address, granted the route's scope, and within the
// key's per-minute rate limit. The handler finds the principal with
// [FromContext]; tests of a handler alone put one in with [NewContext].
// [Handle] does that and the decoding of the body for a route written as
// a function of the request, the principal and the decoded body.
// [Options].Key finds the key elsewhere, or refuses some keys by their
// look before they are looked up; a [*Failure] it returns, as any
// handler may, is answered as it is.
//
// # Client addresses
//
// The client address checked against a key's authorized networks, and
// recorded as its last use, is the connection's peer. X-Forwarded-For is
// read only when the peer is one of [Options].TrustedProxies, from the
// right, so a client cannot name its own address; see
// [Authenticator.ClientIP].
//
// # Rate limits
//
// A key with a rate limit of n (rotation.Spec.RateLimit) gets n requests a
// minute, refilled evenly: a token bucket of size n, kept per secret id by
// [Options].Limiter, a ratelimit.Limiter. The default,
// ratelimit.Memory, keeps the buckets in the process; replicas share them
// through one such as package redislimit's, which keeps them in Redis. A
// limiter on a stepped clock lets tests step through a minute without
// waiting. A key keeps its id through regeneration, and so its bucket: a
// regenerated key does not start a fresh minute, and while a previous
// value is in its grace window the old and the new value share the one
// budget. A request refused for the rate limit was still authenticated,
// so it is recorded as the key's last use; one the limiter could not
// decide, such as a Redis limiter's that fails closed, is answered 503.
//
// # Routes
//
// [Routes] serves an [http.ServeMux] and answers, with the service's
// renderer, what ServeMux would answer in plain text: an unknown route
// (404), a method a route does not take (405), and a path that is not
// clean, which ServeMux would redirect, repeating a pasted key in the
// Location header (404, never a redirect).
//
// # Request bodies
//
// [DecodeJSON] and [DecodeRegenerate] read at most [MaxBody] bytes, decode
// with encoding/json, and accept exactly one JSON object whose members,
// at every depth, are the destination's own, by their exact names, none
// repeated; everything else is a [*BodyError] that names the member at
// fault by its path ("api_token.colour") and maps to 413 or 422, so a bad
// request changes nothing.
//
// The member types [Networks], [UnixTime], [Timestamp], [Permissions] and
// [JSONMetadata] hold the shapes the seed APIs give a key's attributes,
// addresses and ranges, Unix seconds or RFC 3339 (null for none), scopes
// grouped by resource, and metadata of any JSON, and convert to and from
// what a [rotation.Spec] holds; a bad value is refused naming the member
// and the entry within it.
//
// # Security
//
// No Failure holds the text of an error, secret material or a presented
// key: only fixed sentences of this package and the ids, scopes,
// addresses and limits that the typed errors carry. A 500, whether for a
// failed store or a misconfigured Rotator, says only that an internal
// error occurred. Logged errors are rotor's, which hold ids and hints,
// never values.
//
// Text the client chose is repeated, in problems, errors and logs, only
// when it cannot be a key: a path segment (in instance and in the logged
// path) or a member name is repeated if it is at most 23 bytes long or
// has the shape of a secret id (sec_ and 26 lower-case letters and
// digits); a longer segment becomes "REDACTED", and a longer member name
// is not named. A member of the decoded struct is named as the struct
// names it. Values from a body are never repeated.
//
// # Concurrency
//
// An Authenticator is safe for concurrent use. The functions of this
// package keep no state but a cache of the JSON members of the struct
// types DecodeJSON has decoded into, which is safe for concurrent use.
package rotationhttp
