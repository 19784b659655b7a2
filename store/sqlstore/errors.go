package sqlstore

import (
	"context"
	"errors"

	"github.com/rotorkit/rotor/store"
)

// ErrNewerSchema reports a database whose schema a newer release of this
// package migrated: this one does not know its tables and will not touch
// them. [New] returns it, wrapped in an [*store.OpError].
var ErrNewerSchema = errors.New("sqlstore: database schema is newer than this package")

// opError wraps err once, with the operation and the owner. When ctx has
// ended and err is not a sentinel of package store, the cause becomes the
// context's error: the backend's own error then only says how the ending
// showed up (an interrupted statement, a closed connection), and callers
// test for [context.Canceled] and [context.DeadlineExceeded].
func opError(ctx context.Context, op, owner string, err error) error {
	if ctx.Err() != nil && !isSentinel(err) {
		err = ctx.Err()
	}
	return &store.OpError{Op: op, Owner: owner, Err: err}
}

// isSentinel reports whether err matches a sentinel of package store.
func isSentinel(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrInvalid)
}
