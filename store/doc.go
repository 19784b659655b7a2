// Package store defines what rotor keeps and the contract of the backends
// that keep it.
//
// # The model
//
// All the keys of one owner form a [Keyset] with a version number and one
// designation: the id of the key that signs the owner's webhooks. A key
// ([Record]) keeps its id for life. It carries its [Attributes] (name,
// format, scopes, networks, rate limit, metadata, expiry) and its values:
// the current one, and the previous ones whose grace windows have not been
// pruned. Each [Value] has its own id, digest, hint, last use and, for keys
// that sign HMACs, sealed ciphertext.
//
// A [Store] loads a keyset, saves it only if its version is still the one
// that was read ([Store.Save] is a compare-and-swap), finds a key by the
// digest of any of its values, and records uses in batches without
// touching the version. What a keyset may hold is one function,
// [Keyset.Validate], which the Rotator runs before every save and every
// backend runs again; what depends on time (limits, grace windows, expiry)
// is decided by package rotation on a keyset it has read, so those rules
// hold however many processes write at once.
//
// # Implementing a Store
//
// A backend needs one atomic conditional write per owner (a row, a
// document) and an index from digest to key. Package storetest is the
// conformance suite every backend's tests run; package memstore is the
// reference implementation.
//
// # Errors
//
// Backends report conditions with the sentinels of this package so callers
// can use [errors.Is]: [ErrNotFound], [ErrConflict], [ErrDuplicate] and
// [ErrInvalid]. A backend wraps its own failures once, with the operation
// and the owner, in an [*OpError]; context errors pass through unchanged
// underneath it.
//
// # Security
//
// A [Record] never holds plaintext: only the digest of each value, a four
// character hint and, for keys that sign or verify HMACs, the value sealed
// under a key-encryption key and bound to the value's id.
package store
