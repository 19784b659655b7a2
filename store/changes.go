package store

import "context"

// ChangeLog is implemented by a Store that can say which owners' keysets
// were saved, by any process sharing it, since an earlier call. A cache
// of keysets (rotation.Rotator's, in its Run method) polls it to drop the
// copies that saves elsewhere made stale. sqlstore implements it on both
// dialects; memstore does not.
type ChangeLog interface {
	Store

	// Changes returns the owners whose keysets were saved after the point
	// that cursor marks, and the cursor that marks the point to ask from
	// next time. The empty cursor marks the moment of the call: it returns
	// no owners. Every save that commits after the point is reported by
	// this call or a later one; an owner may be reported more than once,
	// and again by the next call. A cursor is an opaque string that only
	// the store that made it understands.
	Changes(ctx context.Context, cursor string) (owners []string, next string, err error)
}

// Notifier is implemented by a Store that can tell as they commit which
// owners' keysets are saved, by any process sharing it: sqlstore on
// PostgreSQL, through LISTEN/NOTIFY.
type Notifier interface {
	Store

	// Listen calls changed with the owner of each keyset saved from the
	// moment it calls ready until ctx is done or the connection it listens
	// on fails, and then returns why: ctx's error, or the failure. An
	// owner of "" means that any owner may have changed. Saves committed
	// while no Listen runs are not reported, so a cache that listens also
	// polls a [ChangeLog] to catch up. Calls of changed come one at a time
	// from the goroutine that called Listen.
	//
	// A store that cannot listen in its current configuration (sqlstore
	// on SQLite) returns an error matching [errors.ErrUnsupported] at once.
	Listen(ctx context.Context, ready func(), changed func(owner string)) error
}
