package sqlstore

import (
	"context"
	"time"

	"github.com/rotorkit/rotor/store"
)

var (
	_ store.DueLister   = (*Store)(nil)
	_ store.OwnerLister = (*Store)(nil)
)

// dueOwners lists the owners due at or before $1, at most $2, through the
// partial index owners_due_at, which holds only owners with a due_at: the
// query reads the rows it returns and no others. An owner without keys
// (deleted) is passed over, whatever its due_at. PostgreSQL compares
// names by bytes under COLLATE "C", which the index is built with.
const (
	sqliteDueOwners = `SELECT o.owner FROM owners o
WHERE o.due_at IS NOT NULL AND o.due_at <= $1 AND EXISTS (SELECT 1 FROM secrets s WHERE s.owner = o.owner)
ORDER BY o.due_at, o.owner
LIMIT $2`
	pgDueOwners = `SELECT o.owner FROM owners o
WHERE o.due_at IS NOT NULL AND o.due_at <= $1 AND EXISTS (SELECT 1 FROM secrets s WHERE s.owner = o.owner)
ORDER BY o.due_at, o.owner COLLATE "C"
LIMIT $2`
)

// Due returns at most limit owners whose keyset's DueAt is set and not
// after before, earliest first and, of equal ones, by the byte order of
// their names, as [store.DueLister] asks. It reads an index of the
// owners with something due, so its cost grows with what it returns, not
// with what is stored. A limit below 1 returns none.
func (s *Store) Due(ctx context.Context, before time.Time, limit int) ([]string, error) {
	q := sqliteDueOwners
	if s.dialect == Postgres {
		q = pgDueOwners
	}
	owners, err := s.owners(ctx, q, before.UnixMicro(), limit)
	if err != nil {
		return nil, opError(ctx, "due", "", err)
	}
	return owners, nil
}

// listOwners lists at most $2 owners whose names sort after $1 by bytes.
// On PostgreSQL the primary key's index is in the database's collation,
// which need not be bytes, so a page may cost a sort of the owners.
const (
	sqliteListOwners = `SELECT owner FROM owners WHERE owner > $1 ORDER BY owner LIMIT $2`
	pgListOwners     = `SELECT owner FROM owners WHERE owner COLLATE "C" > $1 ORDER BY owner COLLATE "C" LIMIT $2`
)

// Owners returns at most limit owners saved at least once whose names
// sort after after, in the byte order of their names, as
// [store.OwnerLister] asks. A limit below 1 returns none. Package
// rotation does not need it to sweep a Store, which is a
// [store.DueLister].
func (s *Store) Owners(ctx context.Context, after string, limit int) ([]string, error) {
	q := sqliteListOwners
	if s.dialect == Postgres {
		q = pgListOwners
	}
	owners, err := s.owners(ctx, q, after, limit)
	if err != nil {
		return nil, opError(ctx, "owners", "", err)
	}
	return owners, nil
}

// owners runs q, a query of owners' names, with arg and limit.
func (s *Store) owners(ctx context.Context, q string, arg any, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, q, arg, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var owners []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, err
		}
		owners = append(owners, o)
	}
	return owners, rows.Err()
}
