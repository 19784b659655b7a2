// Package rotation issues, rotates and authenticates the secrets an API
// provider hands its customers.
//
// A [Rotator] works over a [store.Store] and keeps all the secrets of one
// owner (an integrator, an organization, an account) together. It creates
// a secret and shows its value once ([Rotator.Create]); gives it a new
// value with an optional grace window in which the old one still works
// ([Rotator.Regenerate]); changes what it carries ([Rotator.Update]);
// designates the one that signs webhooks ([Rotator.SetSigning]); revokes
// and deletes, one secret or a whole owner; lists metadata, never values
// ([Rotator.List]); and checks a presented key ([Rotator.Authenticate]).
//
// # Secrets and their values
//
// A secret keeps its id for life. Everything it carries belongs to that
// id — its [Attributes] (name, format, scopes, networks, rate limit,
// metadata, expiry), its creation time, its signing designation, its last
// use — and survives every regeneration, so a service may keep the id in
// its own tables. What changes is its value: the current one, and the
// previous ones still inside their grace windows. A list shows one entry
// per secret, with its previous values, each with its hint, the end of its
// window and its own last use; authenticating with a previous value names
// the same secret and says when that value stops working.
//
// # Grace windows
//
// Regenerate(owner, id, grace) gives the secret a new value. The one it
// had keeps working until now+grace and is refused from that instant on;
// with a grace of 0 it stops at once. A window never outlasts the secret
// itself. Grace must be from 0 to Policy.MaxGracePeriod (one hour by
// default); anything else is a [*ValidationError] naming "grace" and the
// range, and nothing changes.
//
// A secret whose earlier values are still in grace may be regenerated
// again; each value keeps its own window. The previous values of an owner
// in grace are bounded by Policy.MaxInGrace, and a regeneration never
// fails for lack of room: it ends now the windows that would end soonest
// among the others and says which in [Regenerated.CutShort]. The window
// just asked for is never the one cut, so a reply always keeps its
// promise.
//
// # Limits
//
// An owner holds at most Policy.MaxActive active secrets (3 by default).
// Expired and revoked secrets do not count; the most recent of them stay
// listed, up to Policy.KeepEnded.
//
// # Signing webhooks
//
// Only a secret that can sign — created with HMAC, or in the webhook
// format — can be designated to sign its owner's webhooks, and the first
// such secret an owner creates is. The designation is one field of the
// owner's keyset, so two secrets never hold it. The designated secret
// cannot be revoked or deleted while it is active; once it has expired it
// no longer is designated, and the oldest active secret that can sign
// takes over. An owner with no secret that can sign has no designation,
// and any of its secrets can be revoked or deleted.
//
// # Concurrency
//
// A Rotator is safe for concurrent use, and so are several Rotators in
// several processes over one store. Every change loads the owner's keyset,
// applies the rules to it, checks the keyset's invariants
// ([store.Keyset.Validate]), and saves it only if no one else saved in
// between (the store's compare-and-swap), trying again a bounded number of
// times before it returns ErrConflict. Limits, grace bounds and the single
// designation are checked inside that step, so they hold whoever writes.
//
// The changes of one owner through one Rotator take turns, so they never
// lose a compare-and-swap to each other; only writers elsewhere (other
// processes, other Rotators) can. A change that lost waits before it
// tries again, a random time whose bound doubles with each loss, from 2
// milliseconds to 128 (Options.Wait does the waiting), so that writers
// that collided spread out: with eight processes regenerating one
// owner's secrets without pause, at most one call in a hundred gives up.
//
// Concurrent regenerations of one secret take turns; each hands out a
// value that was current when it committed. [Rotator.RegenerateIf] makes a
// regeneration conditional on the value its caller saw, so that of several
// callers racing from the same value one wins and the others are told
// (ErrStale) instead of being handed a value another call has replaced.
//
// A save can fail in a way that leaves unknown whether it committed, such
// as a deadline that fires during COMMIT. The Rotator then reads the
// keyset back, under a context of its own, and reports the change as made
// if it was: a caller is never told that a regeneration failed while its
// old value stopped working.
//
// Several processes sharing one store each run [Rotator.Run], which keeps
// the Rotator's cache in step with the changes the others make; see
// Caching.
//
// # Caching
//
// A Rotator keeps in memory the keysets of the owners it has read, so
// that listing, authenticating, signing and verifying do not reach the
// store per request: at most CacheOptions.MaxOwners of them (10,000 by
// default), the least recently used of a sample of 16 going first, as
// Redis evicts (exactly the least recently used up to 16 owners). Each
// is a snapshot of one read, shared by every reader and never changed;
// an owner's HMAC keys are built from it once, and again only when one of
// them starts or stops working. A change made through the Rotator replaces the owner's
// snapshot by what it saved, so the Rotator sees its own changes at once;
// and every change reads the store itself, so the rules hold whatever is
// cached.
//
// A key the cache does not hold is looked up in the store, so a key
// created by another process works at once, and brings its owner's
// keyset into the cache. A key the store does not know is answered from
// memory for CacheOptions.MissTTL, and the lookups such keys cost are
// capped at CacheOptions.MaxMissLookups a second: beyond the cap, keys
// not in the cache get ErrOverloaded, so a flood of made-up keys (whose
// checksum anyone can compute) never reaches the store faster. Keys of
// cached owners are not affected. Owners named to [Rotator.VerifyingKeys]
// and [Rotator.SigningKeys] that the store does not hold are remembered
// and capped the same way.
//
// A change made by another process sharing the store, such as another
// replica of a service, is seen here:
//
//   - at most CacheOptions.MaxAge (30 seconds by default) after it,
//     always: a snapshot whose read began that long ago is read again
//     before it is served;
//   - at most CacheOptions.PollInterval (2 seconds by default) and one
//     poll's time after it, while [Rotator.Run] runs over a store that
//     keeps a [store.ChangeLog] (sqlstore does, on SQLite and PostgreSQL)
//     and its polls succeed;
//   - in practice within milliseconds, while Run listens over a
//     [store.Notifier] (sqlstore on PostgreSQL, through LISTEN/NOTIFY).
//     Notifications lost while the connection is down are caught by the
//     poll Run makes when it listens again.
//
// So a secret revoked, or regenerated with no grace window, on one
// replica stops working on every other within PollInterval, and never
// later than MaxAge; one created or regenerated works everywhere at
// once. A Rotator never goes back in time: a read that began before a
// change was heard of, or that is older than the snapshot cached, is
// returned to its caller but never cached, so once a version of an
// owner's keyset has been served, no older one is.
//
// # Recorded uses
//
// [Rotator.Authenticate] records each use of a secret (when, and from
// which address) in memory, per secret and per value, and a request
// never writes it: [Rotator.Run], which a service starts beside its
// server, writes the latest use of each value in one batch every
// Options.UseInterval (a minute), and [Rotator.Flush] writes what is left
// when the service stops, after Run has returned. Until then
// [Rotator.List] and [Rotator.Get] show the uses all the same. Without
// Run, uses are kept until Flush, for at most Options.MaxPendingUses
// values; the uses of further values are dropped, and logged.
//
// # Reminders
//
// A Rotator tells Options.Observer of what is coming in a secret's life,
// so that a service can warn its customer in time:
//   - [EventExpiringSoon] before a secret's ExpiresAt, once at each of
//     Reminders.ExpiryLeads (14 days, 7 days and 1 day by default).
//     Leads the secret was within when its expiry was set, by
//     [Rotator.Create] or [Rotator.Update], are not reminded of: who set
//     it knows. Of several leads that went by unswept, only the shortest
//     is. A changed expiry is reminded of afresh.
//   - [EventExpired] once the secret has expired.
//   - [EventGraceEndingSoon] Reminders.GraceLead (10 minutes) before a
//     previous value's grace window ends, or half the window when it is
//     shorter than twice that, with the value's latest use (LastUsedAt).
//   - [EventGraceEnded] once the window has ended, cut short by a
//     regeneration included, with the value's latest use and whether it
//     fell in the window's last GraceLead (UsedAtEnd): whether a client
//     still relied on the old value at the end.
//
// A revoked secret is told of no more, and a value whose window outlasts
// its secret dies with it, told of by EventRevoked or EventExpired.
//
// Every change works out what is due at its instant and sends it after
// its own events; [Rotator.Run] sweeps every Reminders.SweepInterval (a
// minute) for what no change carried (see [Rotator.Sweep]). Each event is
// sent at most once per secret and occasion, however many Rotators share
// the store: the mark that it was sent is saved in the keyset with the
// compare-and-swap, and only the Rotator whose save wins sends it; one
// whose save fails sends nothing. At most once, not exactly once: a
// Rotator that stops between its save and the Observer's call, or a save
// whose answer is lost, leaves the event marked and unsent. Events come
// as late as the sweep: a minute at most by default, or the next change.
//
// LastUsedAt counts the uses the store holds and those this Rotator
// recorded and has not yet written; uses that other replicas have not
// yet written (see Options.UseInterval) are not seen.
//
// # Leaked keys
//
// [Rotator.ReportLeak] handles a report that a key was seen in public,
// such as one from a secret scanner (package rotation/scanning receives
// GitHub's). The key's shape and checksum are checked offline, and a
// well-formed key is looked up within the bounds above on unknown keys.
// By default a leaked current value has its secret revoked, and a leaked
// previous value has its grace window ended, so the value the customer
// rotated to works on; a service may only report instead. Either way an
// [EventLeaked] says where the value was seen and what was done, and the
// result tells a true positive from a false one.
//
// # Time
//
// Options.Now is the Rotator's only clock; tests pass
// rotationtest.Clock.Now and step it instead of sleeping. Every status is
// computed from it: a secret is active, expired or revoked at an instant,
// and a previous value valid until the end of its window, not by a
// background job.
//
// # Errors
//
// Every condition a caller branches on matches a sentinel of this package
// with [errors.Is], and the typed errors carry what a response needs:
// [*SecretError] (not found, designated, custom, not active, cannot sign,
// stale), [*LimitError], [*ValidationError] (the caller's argument is out
// of range) and, from Authenticate, [*AuthError]. Options that cannot work
// are an [*OptionError] matching ErrMisconfigured: the service's fault,
// never the caller's. Store failures are passed through, so context errors
// still match.
//
// # Security
//
// The value of a secret exists in plaintext only in the [Issued] or
// [Regenerated] result that creates it, inside a [secrets.Value] that
// prints and logs as [REDACTED]. The store keeps each value's digest, a
// four character hint and, for secrets that sign HMACs, the value sealed
// under Options.Keyring and bound to the value's id. Errors, events and
// logs carry ids and hints only, and a Rotator prints as its policy, never
// its keyring or pepper.
package rotation
