// Package rotationhttp holds the net/http pieces that every handler built
// on a [rotation.Rotator] needs: RFC 9457 problem details for every rotor
// error, bearer-key middleware, and strict decoding of request bodies.
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
//			// Reply with res.Value.Reveal(), the one time it is shown.
//		})))
//
// # Problems
//
// [ProblemFor] maps any error to a [Problem]: its status, a machine code
// (the Code constants), and the members a client needs, such as the realm
// and scope of a 401, the resourceType and resourceId of a 404, the list
// of invalid fields of a 422, or the total_permitted of a 429. Its doc
// comment holds the whole table. [WriteProblem] sends one as
// application/problem+json with the headers it calls for
// (WWW-Authenticate as RFC 6750 asks, Retry-After); [WriteError] and
// [Authenticator.Error] do both, and the latter logs too.
//
// # Authentication
//
// [Authenticator.Require] wraps a handler so it runs only for requests
// that carry "Authorization: Bearer <key>" with a key the Rotator accepts
// from the client's address, granted the route's scope, and within the
// key's per-minute rate limit. The handler finds the principal with
// [FromContext]; tests of a handler alone put one in with [NewContext].
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
// minute, refilled evenly: a token bucket from golang.org/x/time/rate of
// size n, kept per secret id. The clock is [Options].Now, so tests step
// through a minute without waiting. A key keeps its id through
// regeneration, and so its bucket: a regenerated key does not start a
// fresh minute, and while a previous value is in its grace window the old
// and the new value share the one budget. Buckets are kept for at most
// [Options].MaxLimiters keys. A request refused for the rate limit was
// still authenticated, so it is recorded as the key's last use.
//
// # Request bodies
//
// [DecodeJSON] and [DecodeRegenerate] read at most [MaxBody] bytes and
// accept exactly one JSON object with known members; everything else is a
// [*BodyError] that names the member at fault and maps to 413 or 422, so
// a bad request changes nothing.
//
// # Security
//
// No problem holds the text of an error, secret material or a presented
// key: only fixed text and the ids, scopes, addresses and limits that the
// typed errors carry. A 500 says only that an internal error occurred.
// Logged errors are rotor's, which hold ids and hints, never values.
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
// package keep no state.
package rotationhttp
