package store

import (
	"context"
	"time"

	"github.com/rotorkit/rotor/secrets"
)

// Store keeps keysets. It is the interface backends implement; users work
// with rotation.Rotator instead. Implementations must be safe for
// concurrent use and must pass storetest.Run.
//
// A Store only stores: every rule about what a keyset may hold is
// [Keyset.Validate]'s, and every rule about time (grace windows, expiry,
// limits) is package rotation's.
//
// Every method returns values that share no memory with the store: a
// caller may change what it was given without changing what is stored.
// Every error is wrapped once in an [*OpError], sentinels included, and a
// call whose context is already done returns its error and changes nothing.
type Store interface {
	// Load returns the owner's keyset. It returns an error matching
	// ErrNotFound if the owner has never been saved, which includes every
	// owner that is not [ValidOwner].
	Load(ctx context.Context, owner string) (Keyset, error)

	// Save stores ks if the stored version of ks.Owner is still
	// ks.Version (0 for an owner never saved), and makes the stored
	// version ks.Version+1. Otherwise it changes nothing and returns an
	// error matching ErrConflict. A keyset that [Keyset.Validate] refuses
	// gives its *ValidationError, matching ErrInvalid, and changes nothing.
	//
	// The digest index follows in the same step: the digests of values
	// no longer in ks are no longer found, new ones are. A digest held by
	// a value of another owner gives ErrDuplicate. Recorded uses are kept:
	// for a key, and for a value, a stored LastUsedAt later than the
	// saved one wins.
	//
	// A keyset with no keys is stored like any other: that is how an
	// owner is deleted, and its version goes on counting, so a writer
	// that read the owner before cannot bring its keys back.
	Save(ctx context.Context, ks Keyset) error

	// Lookup finds the key that has a value, current or previous, whose
	// digest is d, and returns it whole, with its owner and the owner's
	// designation. It returns an error matching ErrNotFound if no value
	// has it.
	Lookup(ctx context.Context, d secrets.Digest) (Match, error)

	// RecordUses sets LastUsedAt and LastUsedIP of the named values, and
	// of their keys, to the latest of the given uses, without changing any
	// version. Uses of owners, keys or values that do not exist (or no
	// longer do) are ignored, and a use no later than the one already
	// stored changes nothing.
	RecordUses(ctx context.Context, uses []Use) error
}

// Match is what [Store.Lookup] finds: a key, and where it belongs.
type Match struct {
	Owner string
	Key   Record
	// Signing is the owner's designation, Keyset.Signing: the id of the
	// key that signs its webhooks, or "" for none.
	Signing string
	// SigningExpiresAt is the ExpiresAt of the key Signing names: zero if
	// it never expires, or if there is none. With it, a reader can tell
	// whether the designation still holds without loading the keyset.
	SigningExpiresAt time.Time
}
