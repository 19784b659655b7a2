// Package cachestore keeps copies of another [store.Store]'s keysets in
// memory, so that the hot paths — authenticating a key, verifying a
// signature — do not reach the database on every request.
//
//	db, err := postgres.Open(ctx, dsn) // package sqlstore/postgres
//	…
//	cache, err := cachestore.New(db, nil)
//	…
//	go cache.Run(ctx) // hear of changes other replicas make
//	r, err := rotation.New(cache, opts)
//
// # What is cached
//
// [Store.Load] keeps each owner's keyset as read, and [Store.Lookup]
// answers a digest of a cached keyset from memory. A digest that is not
// cached is asked of the inner store at once, so a key created by another
// replica authenticates at once; the answer then brings the owner's
// keyset into the cache, and if a cached keyset lacks the key, it is read
// again, at most once per Options.ReloadInterval per owner. A digest the
// inner store does not know is answered "not found" for Options.MissTTL
// (one second by default) without asking again, and at most
// Options.MaxMisses of them are remembered, so a flood of made-up keys
// costs one inner lookup each and nothing more.
//
// Saves go to the inner store, and then the saving process drops its own
// copy of the owner. Recorded uses go to the inner store too, and the
// recording process's copies show them at once; uses recorded by other
// processes are seen when a copy is next read.
//
// # Staleness bound
//
// A change made through another Store — another replica — is seen here:
//
//   - at most Options.MaxAge (30 seconds by default) after it, always: a
//     copy older than that is read again before it is served;
//   - at most Options.PollInterval (2 seconds by default) and one poll's
//     time after it, while [Store.Run] runs over a store that keeps a
//     [store.ChangeLog] (sqlstore does, on SQLite and PostgreSQL) and its
//     polls succeed;
//   - in practice within milliseconds, while Run listens over a
//     [store.Notifier] (sqlstore on PostgreSQL, through LISTEN/NOTIFY).
//     Notifications lost while the connection is down are caught by the
//     next poll, and the listener reconnects after Options.ListenRetry.
//
// So a secret revoked, or regenerated with no grace window, on one replica
// stops authenticating on every other within PollInterval, and never
// later than MaxAge. Keys that become valid — created or regenerated —
// need no wait at all, as above, unless someone presented that exact key
// within MissTTL before it existed.
//
// # Concurrency
//
// A Store is safe for concurrent use. Readers never wait for a refresh
// and never see one half done: each owner's copy is built whole and then
// swapped in for the old one, which is never changed, and a read that
// began before an invalidation can never store its older copy after it.
// [Store.OnInvalidate] lets the layers above drop what they built from a
// copy; package rotation uses it for its HMAC keys.
//
// New starts no goroutine. [Store.Run] is the only background work, and
// it ends with its context; tests call [Store.Poll] instead, and give
// Options.Now a clock they step.
package cachestore
