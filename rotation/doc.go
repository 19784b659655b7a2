// Package rotation issues, rotates and authenticates the secrets an API
// provider hands its customers.
//
// A [Rotator] works over a [store.Store] and keeps all the secrets of one
// owner (an integrator, an organization, an account) together. It creates
// a secret and shows its value once ([Rotator.Create]); replaces it with an
// optional grace window in which the old one still works
// ([Rotator.Regenerate]); designates the one that signs webhooks
// ([Rotator.SetSigning]); revokes and deletes; lists metadata, never values
// ([Rotator.List]); and checks a presented key ([Rotator.Authenticate]).
//
// # Grace windows
//
// Regenerate(owner, id, grace) makes a new secret that takes the old one's
// place: same name, format, scopes, networks, rate limit, metadata and
// expiry, and the signing designation if the old one had it. The old one
// keeps working until now+grace, and is refused from that instant on; a
// grace of 0 revokes it at once. A rotated key never outlives the one it
// replaces, and a grace window never extends the old key's own expiry.
//
// Grace must be from 0 to Policy.MaxGracePeriod (one hour by default);
// anything else is a [*ValidationError] naming "grace" and the range, and
// nothing changes.
//
// # Limits
//
// An owner holds at most Policy.MaxActive active secrets (3 by default);
// secrets in a grace window do not count. Those are bounded on their own by
// Policy.MaxInGrace (the same number by default), and a regeneration never
// fails for lack of room: it ends early the grace windows that would end
// soonest and says which in [Regenerated.CutShort].
//
// # Concurrency
//
// A Rotator is safe for concurrent use, and so are several Rotators in
// several processes over one store. Every change loads the owner's keyset,
// applies the rules to it, and saves it only if no one else saved in
// between (the store's compare-and-swap), trying again a bounded number of
// times before it returns ErrConflict. Limits, grace bounds and the single
// designation are checked inside that step, so they hold whoever writes.
//
// Replicas of a service that share a database wrap their store in a
// cachestore.Store and run its Run method, so that authenticating and
// verifying do not query the database per request: a key created on one
// replica works on the others at once, and one revoked or regenerated
// without grace stops on the others within the bound that package
// cachestore documents. The Rotator drops the HMAC keys it built for an
// owner whenever the cache drops the owner's keyset.
//
// # Time
//
// Options.Now is the Rotator's only clock; tests pass
// rotationtest.Clock.Now and step it instead of sleeping. Every status is
// computed from it: a secret is active, in grace, expired or revoked at an
// instant, not by a background job.
//
// # Errors
//
// Every condition a caller branches on matches a sentinel of this package
// with [errors.Is], and the typed errors carry what a response needs:
// [*SecretError] (not found, designated, custom, not active),
// [*LimitError], [*ValidationError] and, from Authenticate, [*AuthError].
// Store failures are passed through, so context errors still match.
//
// # Security
//
// The value of a secret exists in plaintext only in the [Issued] or
// [Regenerated] result that creates it, inside a [secrets.Value] that
// prints and logs as [REDACTED]. The store keeps its digest, a four
// character hint and, for secrets that sign HMACs, the value sealed under
// Options.Keyring. Errors, events and logs carry ids and hints only.
package rotation
