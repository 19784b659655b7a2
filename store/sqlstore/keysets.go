package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// loadKeyset reads an owner's version, designation, keys and values in
// one statement, and so from one snapshot: a save committed meanwhile is
// seen whole or not at all. An owner without keys gives one row whose key
// and value columns are NULL.
const loadKeyset = `SELECT o.version, o.signing, o.due_at, ` + keyColumns + `, ` + valueColumns + `
FROM owners o
LEFT JOIN secrets s ON s.owner = o.owner
LEFT JOIN secret_values v ON v.owner = s.owner AND v.secret_id = s.id
WHERE o.owner = $1
ORDER BY s.position, v.position`

// Load returns the owner's keyset, with its keys and their values in the
// order they were saved, or an error matching [store.ErrNotFound] if the
// owner has never been saved.
func (s *Store) Load(ctx context.Context, owner string) (store.Keyset, error) {
	if err := ctx.Err(); err != nil {
		return store.Keyset{}, opError(ctx, "load", owner, err)
	}
	ks, err := s.load(ctx, owner)
	if err != nil {
		return store.Keyset{}, opError(ctx, "load", owner, err)
	}
	return ks, nil
}

func (s *Store) load(ctx context.Context, owner string) (store.Keyset, error) {
	if !store.ValidOwner(owner) {
		// Never saved, and PostgreSQL refuses some such text outright.
		return store.Keyset{}, store.ErrNotFound
	}
	rows, err := s.loadStmt.QueryContext(ctx, owner)
	if err != nil {
		return store.Keyset{}, err
	}
	defer rows.Close()
	ks := store.Keyset{Owner: owner}
	var signing sql.NullString
	var dueAt sql.NullInt64
	var scan keyScan
	dest := scan.val.dest(scan.key.dest(&ks.Version, &signing, &dueAt)...)
	found := false
	for rows.Next() {
		found = true
		if err := rows.Scan(dest...); err != nil {
			return store.Keyset{}, err
		}
		if err := scan.add(); err != nil {
			return store.Keyset{}, err
		}
	}
	if err := rows.Err(); err != nil {
		return store.Keyset{}, err
	}
	if !found {
		return store.Keyset{}, store.ErrNotFound
	}
	ks.Signing = signing.String
	ks.DueAt = fromMicros(dueAt)
	ks.Keys = scan.keys
	s.seen.put(owner, imagesOf(&ks).seenAt(ks.Version))
	return ks, nil
}

// lookupDigest finds the value with a digest through its unique index,
// and returns its key with every value of it, its owner's designation and
// the expiry of the designated key.
const lookupDigest = `SELECT o.owner, o.signing, g.expires_at, ` + keyColumns + `, ` + valueColumns + `
FROM secret_values d
JOIN owners o ON o.owner = d.owner
LEFT JOIN secrets g ON g.owner = o.owner AND g.id = o.signing
JOIN secrets s ON s.owner = d.owner AND s.id = d.secret_id
JOIN secret_values v ON v.owner = s.owner AND v.secret_id = s.id
WHERE d.digest = $1
ORDER BY v.position`

// Lookup returns the key that has a value whose digest is d, in one
// indexed query, or an error matching [store.ErrNotFound].
func (s *Store) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	if err := ctx.Err(); err != nil {
		return store.Match{}, opError(ctx, "lookup", "", err)
	}
	m, err := s.lookup(ctx, d)
	if err != nil {
		// The owner is not known until the row is read, and is not told
		// when it cannot be: the error names no one.
		return store.Match{}, opError(ctx, "lookup", "", err)
	}
	return m, nil
}

func (s *Store) lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	rows, err := s.lookupStmt.QueryContext(ctx, d[:])
	if err != nil {
		return store.Match{}, err
	}
	defer rows.Close()
	var m store.Match
	var signing sql.NullString
	var signingExpires sql.NullInt64
	var scan keyScan
	dest := scan.val.dest(scan.key.dest(&m.Owner, &signing, &signingExpires)...)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return store.Match{}, err
		}
		if err := scan.add(); err != nil {
			return store.Match{}, err
		}
	}
	if err := rows.Err(); err != nil {
		return store.Match{}, err
	}
	if len(scan.keys) != 1 {
		return store.Match{}, store.ErrNotFound
	}
	m.Key = scan.keys[0]
	m.Signing = signing.String
	m.SigningExpiresAt = fromMicros(signingExpires)
	return m, nil
}

// Save stores ks, making its stored version ks.Version+1, if the stored
// version of ks.Owner is still ks.Version (0 for an owner never saved):
// the version check, the keys, their values and the digest index change
// in one transaction. A refused save changes nothing. It fails with an
// error matching
//   - [store.ErrInvalid] for a keyset that [store.Keyset.Validate]
//     refuses;
//   - [store.ErrDuplicate] for a keyset that gives a value a digest held
//     by another owner's value, or by a value this save removes;
//   - [store.ErrConflict] when the stored version is not ks.Version.
//
// A recorded use survives a save that carries an older one: when the
// stored key, or value, with the same id was last used later than ks
// says, its LastUsedAt and LastUsedIP are kept. Times are kept to the
// microsecond.
//
// A save that succeeds is reported by [Store.Changes] and, on PostgreSQL,
// to every [Store.Listen] over the same schema once it commits. It writes
// only the rows that changed from the version it saves over, when the
// Store remembers that version's rows (see the package documentation on
// the cost of a write).
func (s *Store) Save(ctx context.Context, ks store.Keyset) error {
	if err := ctx.Err(); err != nil {
		return opError(ctx, "save", ks.Owner, err)
	}
	if err := ks.Validate(); err != nil {
		return opError(ctx, "save", ks.Owner, err)
	}
	im := imagesOf(&ks)
	w := writesOf(im, s.seen.get(ks.Owner, ks.Version), ks.Version)
	var err error
	if s.dialect == Postgres {
		err = s.savePostgres(ctx, &ks, im, &w)
	} else {
		err = s.inWriteTx(ctx, func(tx *sql.Tx) error { return s.save(ctx, tx, &ks, im, &w) })
	}
	if err != nil {
		s.seen.forget(ks.Owner) // its version is not known now
		return opError(ctx, "save", ks.Owner, err)
	}
	s.seen.put(ks.Owner, im.seenAt(ks.Version+1))
	return nil
}

// save writes ks in tx on SQLite: first the owner's row, the
// compare-and-swap, and then what w says of the rows of its keys and
// values.
func (s *Store) save(ctx context.Context, tx *sql.Tx, ks *store.Keyset, im *rowImages, w *rowWrites) error {
	var res sql.Result
	var err error
	signing, due := nullText(ks.Signing), micros(ks.DueAt)
	if ks.Version == 0 {
		res, err = tx.StmtContext(ctx, s.w.insertOwner).ExecContext(ctx, ks.Owner, signing, due)
	} else {
		res, err = tx.StmtContext(ctx, s.w.bumpVersion).ExecContext(ctx, ks.Owner, ks.Version, signing, due)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return store.ErrConflict
	}
	return s.saveRows(ctx, tx, ks.Owner, im, w)
}

// saveError says what a database's refusal to write a keyset's keys or
// values means for the contract.
func saveError(err error) error {
	switch {
	case isUniqueViolation(err):
		// The primary keys are the conflict targets and the ids were
		// checked, so the unique index that refused is the digest's: held
		// by another owner's value, or by one of this owner's that this
		// save removes (removals run after the upserts).
		return fmt.Errorf("%w: a value has a digest already in use", store.ErrDuplicate)
	case isDataException(err):
		// Validate admits only what both dialects store; this is a bug.
		return fmt.Errorf("%w: the keyset holds what the database cannot store", store.ErrInvalid)
	}
	return err
}

// nullText returns s, or nil (NULL) when it is empty.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// RecordUses sets LastUsedAt and LastUsedIP of each named value, and of
// its key, to its latest use, in one transaction, leaving every version
// as it is: a use is not a change that [Store.Changes] or [Store.Listen]
// reports. Uses of unknown owners, keys or values, uses no later than the
// one stored, and uses at the zero time are ignored. A key takes the
// latest of its uses that name one of its values.
//
// Only the values' rows are written, one per value used: a key's last
// use is read as the latest of its values' and of its own columns, which
// a save that removes a value moves forward to that value's, so no use is
// lost with the value. However many the uses, the work is a few
// statements: on PostgreSQL two, one that locks the owners named and one
// that writes every value; on SQLite one for every thousand uses.
func (s *Store) RecordUses(ctx context.Context, uses []store.Use) error {
	if err := ctx.Err(); err != nil {
		return opError(ctx, "record uses", "", err)
	}
	latest := latestUses(uses)
	if len(latest) == 0 {
		return nil
	}
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error { return s.recordUses(ctx, tx, latest) })
	if err != nil {
		return opError(ctx, "record uses", "", err)
	}
	return nil
}

// latestUses returns the latest use of each value in uses (the first of
// equals), skipping uses at the zero time and those naming text no
// keyset can hold (an owner, key or value that cannot exist), ordered by
// owner, key and value, so that the uses of one key go in one of SQLite's
// chunks of a batch, but for the few at a chunk's edge.
func latestUses(uses []store.Use) []store.Use {
	type ref struct{ owner, key, value string }
	index := make(map[ref]int, len(uses))
	out := make([]store.Use, 0, len(uses))
	for _, u := range uses {
		if u.At.IsZero() || !store.ValidOwner(u.Owner) || !storable(u.KeyID) || !storable(u.ValueID) {
			continue
		}
		k := ref{u.Owner, u.KeyID, u.ValueID}
		if i, ok := index[k]; !ok {
			index[k] = len(out)
			out = append(out, u)
		} else if u.At.After(out[i].At) {
			out[i] = u
		}
	}
	slices.SortFunc(out, func(a, b store.Use) int {
		return cmp.Or(cmp.Compare(a.Owner, b.Owner), cmp.Compare(a.KeyID, b.KeyID), cmp.Compare(a.ValueID, b.ValueID))
	})
	return out
}
