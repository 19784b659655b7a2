package store

import (
	"context"

	"github.com/rotorkit/rotor/secrets"
)

// Store keeps keysets. It is the interface backends implement; users work
// with rotation.Rotator instead. Implementations must be safe for
// concurrent use and must pass storetest.Run.
//
// Every method returns values that share no memory with the store: a
// caller may change what it was given without changing what is stored.
// Every error is wrapped once in an [*OpError], sentinels included, and a
// call whose context is already done returns its error and changes nothing.
type Store interface {
	// Load returns the owner's keyset. It returns an error matching
	// ErrNotFound if the owner has never been saved.
	Load(ctx context.Context, owner string) (Keyset, error)

	// Save stores ks if the stored version of ks.Owner is still
	// ks.Version (0 for an owner never saved), and makes the stored
	// version ks.Version+1. Otherwise it changes nothing and returns an
	// error matching ErrConflict. The digest index follows in the same
	// step: digests of removed records are no longer found, new ones are.
	// A digest already held by another record gives ErrDuplicate; whether
	// a record may take the digest of one removed in the same save is left
	// to the backend (memstore refuses), so callers must not rely on it.
	// Recorded uses are kept: a stored LastUsedAt later than the saved
	// one wins.
	Save(ctx context.Context, ks Keyset) error

	// Lookup finds the record whose key has digest d, and its owner. It
	// returns an error matching ErrNotFound if no record has it.
	Lookup(ctx context.Context, d secrets.Digest) (owner string, rec Record, err error)

	// RecordUses sets LastUsedAt and LastUsedIP of the named records to
	// the latest of the given uses, without changing any version. Uses of
	// records or owners that no longer exist are ignored, and a use no
	// later than the one already stored changes nothing.
	RecordUses(ctx context.Context, uses []Use) error
}
