package store

import "errors"

var (
	// ErrNotFound reports that an owner or a digest is not in the store.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports that a save lost a race: the keyset changed
	// since it was loaded. Load it again and redo the change.
	ErrConflict = errors.New("store: version conflict")
	// ErrDuplicate reports that a save would give a value the digest of a
	// value of another owner. Digests repeated within one keyset break
	// [Keyset.Validate] instead.
	ErrDuplicate = errors.New("store: digest already in use")
	// ErrInvalid reports a keyset that breaks an invariant of
	// [Keyset.Validate]; the error is a [*ValidationError] that says
	// which.
	ErrInvalid = errors.New("store: invalid keyset")
)

// OpError records a failed store operation, in the manner of
// [io/fs.PathError]. Its message names the operation and the owner and
// never a key, a digest or a connection string.
type OpError struct {
	Op    string // the method, such as "load" or "save"
	Owner string // the owner concerned; empty for lookups by digest
	Err   error  // the cause; a sentinel of this package or the backend's error
}

// Error returns "store: op owner: cause".
func (e *OpError) Error() string {
	if e.Owner == "" {
		return "store: " + e.Op + ": " + e.Err.Error()
	}
	return "store: " + e.Op + " " + e.Owner + ": " + e.Err.Error()
}

// Unwrap returns the cause, so [errors.Is] sees sentinels and context errors.
func (e *OpError) Unwrap() error { return e.Err }
