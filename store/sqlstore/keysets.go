package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// loadKeyset reads an owner's version and records in one statement, and
// so from one snapshot: a save committed meanwhile is seen whole or not at
// all. An owner without records gives one row whose record columns are
// NULL.
const loadKeyset = `SELECT o.version, s.id, s.name, s.format_prefix, s.format_env, s.custom, s.scopes, s.networks,
	s.rate_limit, s.metadata, s.created_at, s.updated_at, s.expires_at, s.revoked_at, s.replaced_by,
	s.last_used_at, s.last_used_ip, s.signing, s.hint, s.digest, s.sealed_kek_id, s.sealed_ciphertext
FROM owners o LEFT JOIN secrets s ON s.owner = o.owner
WHERE o.owner = $1
ORDER BY s.position`

// Load returns the owner's keyset, with its records in the order they
// were saved, or an error matching [store.ErrNotFound] if the owner has
// never been saved.
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
	rows, err := s.loadStmt.QueryContext(ctx, owner)
	if err != nil {
		return store.Keyset{}, err
	}
	defer rows.Close()
	ks := store.Keyset{Owner: owner}
	found := false
	var row recordRow
	dest := row.dest(&ks.Version)
	for rows.Next() {
		found = true
		if err := rows.Scan(dest...); err != nil {
			return store.Keyset{}, err
		}
		if !row.id.Valid {
			continue // the owner has no records
		}
		rec, err := row.record()
		if err != nil {
			return store.Keyset{}, err
		}
		ks.Secrets = append(ks.Secrets, rec)
	}
	if err := rows.Err(); err != nil {
		return store.Keyset{}, err
	}
	if !found {
		return store.Keyset{}, store.ErrNotFound
	}
	return ks, nil
}

// lookupDigest finds a record by digest through the unique index.
const lookupDigest = `SELECT owner, ` + recordColumns + ` FROM secrets WHERE digest = $1`

// Lookup returns the owner and the record whose key has digest d, in one
// indexed query, or an error matching [store.ErrNotFound].
func (s *Store) Lookup(ctx context.Context, d secrets.Digest) (owner string, rec store.Record, err error) {
	if err := ctx.Err(); err != nil {
		return "", store.Record{}, opError(ctx, "lookup", "", err)
	}
	var row recordRow
	err = s.lookupStmt.QueryRowContext(ctx, d[:]).Scan(row.dest(&owner)...)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err == nil {
		rec, err = row.record()
	}
	if err != nil {
		// The owner is not known until the row is read, and is not told
		// when it cannot be: the error names no one.
		return "", store.Record{}, opError(ctx, "lookup", "", err)
	}
	return owner, rec, nil
}

const deleteRecord = `DELETE FROM secrets WHERE owner = $1 AND id = $2`

// Save stores ks, making its stored version ks.Version+1, if the stored
// version of ks.Owner is still ks.Version (0 for an owner never saved):
// the version check, the records and the digest index change in one
// transaction. A refused save changes nothing. It fails with an error
// matching
//   - [store.ErrInvalid] for a keyset without an owner, with a negative
//     version, or with a record that lacks an id or a digest, and, on
//     PostgreSQL, for one holding text the database cannot store (a NUL
//     byte, say);
//   - [store.ErrDuplicate] for a keyset that repeats an id or a digest, or
//     that gives a record a digest held by any other record in the store,
//     even one this save removes;
//   - [store.ErrConflict] when the stored version is not ks.Version.
//
// A recorded use survives a save that carries an older one: when the
// stored record with the same id was last used later than ks says, its
// LastUsedAt and LastUsedIP are kept. Times are kept to the microsecond.
//
// A save that succeeds is reported by [Store.Changes] and, on PostgreSQL,
// to every [Store.Listen] over the same schema once it commits.
func (s *Store) Save(ctx context.Context, ks store.Keyset) error {
	if err := ctx.Err(); err != nil {
		return opError(ctx, "save", ks.Owner, err)
	}
	if err := validate(&ks); err != nil {
		return opError(ctx, "save", ks.Owner, err)
	}
	err := s.inTx(ctx, func(q querier) error { return s.save(ctx, q, &ks) })
	if err != nil {
		return opError(ctx, "save", ks.Owner, err)
	}
	return nil
}

func (s *Store) save(ctx context.Context, q querier, ks *store.Keyset) error {
	var res sql.Result
	var err error
	if ks.Version == 0 {
		res, err = q.ExecContext(ctx, s.dialect.insertOwnerQuery(), ks.Owner)
	} else {
		res, err = q.ExecContext(ctx, s.dialect.bumpVersionQuery(), ks.Owner, ks.Version)
	}
	if err != nil {
		if isDataException(err) {
			return fmt.Errorf("%w: the owner holds text the database cannot store", store.ErrInvalid)
		}
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return store.ErrConflict
	}

	stored, err := lockRecords(ctx, q, s.dialect, ks.Owner)
	if err != nil {
		return err
	}
	for i := range ks.Secrets {
		r := &ks.Secrets[i]
		if _, err := q.ExecContext(ctx, upsertRecord, recordArgs(ks.Owner, i, r)...); err != nil {
			switch {
			case isUniqueViolation(err):
				// The primary key is the conflict target and the ids were
				// checked, so the unique index that refused is the digest's.
				return fmt.Errorf("%w: record %q has a digest already in use", store.ErrDuplicate, r.ID)
			case isDataException(err):
				return fmt.Errorf("%w: record %q holds text the database cannot store", store.ErrInvalid, r.ID)
			}
			return err
		}
		if j := slices.Index(stored, r.ID); j >= 0 {
			stored = slices.Delete(stored, j, j+1)
		}
	}
	// Removed after the upserts, so a record cannot take the digest of one
	// removed in the same save, as with memstore.
	for _, id := range stored {
		if _, err := q.ExecContext(ctx, deleteRecord, ks.Owner, id); err != nil {
			return err
		}
	}
	if s.dialect == Postgres {
		// Delivered to listeners when the transaction commits, and
		// dropped if it rolls back.
		if _, err := q.ExecContext(ctx, notifyChange, s.channel, notifyPayload(ks.Owner)); err != nil {
			return err
		}
	}
	return nil
}

// lockRecords returns the ids of the owner's stored records, locking
// their rows where the dialect needs it (see [Dialect.lockRowsQuery]).
func lockRecords(ctx context.Context, q querier, d Dialect, owner string) ([]string, error) {
	rows, err := q.QueryContext(ctx, d.lockRowsQuery(), owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// validate checks what Save can check before it asks the database: an
// owner, a version that can have been read, and records with distinct ids
// and distinct, non-zero digests. Messages name records by id and never
// show a digest.
func validate(ks *store.Keyset) error {
	if ks.Owner == "" {
		return fmt.Errorf("%w: no owner", store.ErrInvalid)
	}
	if ks.Version < 0 {
		return fmt.Errorf("%w: negative version %d", store.ErrInvalid, ks.Version)
	}
	ids := make(map[string]bool, len(ks.Secrets))
	digests := make(map[secrets.Digest]bool, len(ks.Secrets))
	for i := range ks.Secrets {
		r := &ks.Secrets[i]
		switch {
		case r.ID == "":
			return fmt.Errorf("%w: record %d has no id", store.ErrInvalid, i)
		case r.Digest.IsZero():
			return fmt.Errorf("%w: record %q has no digest", store.ErrInvalid, r.ID)
		case ids[r.ID]:
			return fmt.Errorf("%w: id %q appears twice", store.ErrDuplicate, r.ID)
		case digests[r.Digest]:
			return fmt.Errorf("%w: record %q repeats the digest of another record", store.ErrDuplicate, r.ID)
		}
		ids[r.ID] = true
		digests[r.Digest] = true
	}
	return nil
}

// recordUse moves one record's last use forward, never back.
const recordUse = `UPDATE secrets SET last_used_at = $3, last_used_ip = $4
WHERE owner = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < $3)`

// RecordUses sets LastUsedAt and LastUsedIP of each named record to its
// latest use, in one transaction, leaving every version as it is: a use
// is not a change that [Store.Changes] or [Store.Listen] reports. Uses of
// unknown owners or records, uses no later than the one stored, and uses
// at the zero time are ignored.
func (s *Store) RecordUses(ctx context.Context, uses []store.Use) error {
	if err := ctx.Err(); err != nil {
		return opError(ctx, "record uses", "", err)
	}
	latest := latestUses(uses)
	if len(latest) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(q querier) error {
		for _, u := range latest {
			if _, err := q.ExecContext(ctx, recordUse, u.Owner, u.SecretID, u.At.UnixMicro(), addrColumn(u.IP)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return opError(ctx, "record uses", "", err)
	}
	return nil
}

// latestUses returns the latest use of each record in uses (the first of
// equals), skipping uses at the zero time, ordered by owner and then id:
// the order in which Save locks an owner's rows, so that the two never
// wait for each other in a cycle on PostgreSQL.
func latestUses(uses []store.Use) []store.Use {
	type ref struct{ owner, id string }
	index := make(map[ref]int, len(uses))
	out := make([]store.Use, 0, len(uses))
	for _, u := range uses {
		if u.At.IsZero() {
			continue
		}
		k := ref{u.Owner, u.SecretID}
		if i, ok := index[k]; !ok {
			index[k] = len(out)
			out = append(out, u)
		} else if u.At.After(out[i].At) {
			out[i] = u
		}
	}
	slices.SortFunc(out, func(a, b store.Use) int {
		return cmp.Or(cmp.Compare(a.Owner, b.Owner), cmp.Compare(a.SecretID, b.SecretID))
	})
	return out
}
