package store

import (
	"context"
	"time"
)

// DueLister is implemented by a Store that indexes keysets by
// [Keyset.DueAt], so that package rotation's sweep of reminders costs
// what is due, not what is stored. sqlstore implements it on both
// dialects.
type DueLister interface {
	Store

	// Due returns at most limit owners whose keyset's DueAt is set and
	// not after before, those due first coming first (of equal ones, by
	// the byte order of their names).
	Due(ctx context.Context, before time.Time, limit int) ([]string, error)
}

// OwnerLister is implemented by a Store that can list its owners. It is
// the fallback by which package rotation finds what is due in a store
// that is not a [DueLister]: it reads every keyset, so it costs what is
// stored.
type OwnerLister interface {
	Store

	// Owners returns at most limit owners saved at least once whose names
	// sort after after, in the byte order of their names.
	Owners(ctx context.Context, after string, limit int) ([]string, error)
}
