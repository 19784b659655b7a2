// Package store defines what rotor keeps and the contract of the backends
// that keep it.
//
// All the secrets of one owner form a [Keyset] with a version number. A
// [Store] loads a keyset, saves it only if its version is still the one
// that was read ([Store.Save] is a compare-and-swap), finds a secret by the
// digest of its key, and records uses in batches without touching the
// version. Everything else — limits, grace windows, the signing
// designation — is decided by package rotation on a keyset it has read, so
// those rules hold however many processes write at once.
//
// # Implementing a Store
//
// A backend needs one atomic conditional write per owner (a row, a
// document) and an index from digest to secret. Package storetest is the
// conformance suite every backend's tests run; package memstore is the
// reference implementation.
//
// # Errors
//
// Backends report conditions with the sentinels of this package so callers
// can use [errors.Is]: [ErrNotFound], [ErrConflict], [ErrDuplicate]. A
// backend wraps its own failures once, with the operation and the owner,
// in an [*OpError]; context errors pass through unchanged underneath it.
//
// # Security
//
// A [Record] never holds plaintext: only the digest of its key, a four
// character hint and, for secrets that sign or verify HMACs, the value
// sealed under a key-encryption key.
package store
