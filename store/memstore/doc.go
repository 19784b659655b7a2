// Package memstore is an in-memory [store.Store]: the reference backend,
// and the one to use in tests and in programs that need no durability.
//
// Everything lives in process memory and is lost when the process exits.
// Keysets are deep-copied on the way in and on the way out, so a caller
// never shares a slice, map or byte with the store, and an index from key
// digest to secret makes [Store.Lookup] take constant time however many
// owners there are. It is a [store.OwnerLister], and keeps
// [store.Keyset.DueAt] like any field, but indexes nothing by it.
//
// # Concurrency
//
// A [Store] is safe for concurrent use. One read-write mutex guards all of
// it: loads and lookups share it, saves and recorded uses take it alone,
// and no method calls out while holding it.
//
// # Errors
//
// Every error is an [*store.OpError] naming the operation ("load", "save",
// "lookup", "record uses" or "owners") and the owner, around a sentinel of package
// store or a context error, so [errors.Is] works with [store.ErrNotFound],
// [store.ErrConflict], [store.ErrDuplicate], [store.ErrInvalid],
// [context.Canceled] and [context.DeadlineExceeded].
package memstore
