package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rotorkit/rotor/store"
)

// writeStmts are the statements of [Store.Save] and [Store.RecordUses],
// prepared once for the pool, as the read statements are: database/sql
// then prepares each on a connection the first time it runs there and
// reuses it after. SQLite parses a statement of a keyset's width more
// slowly than it runs it, and PostgreSQL plans a prepared one once.
//
// Every statement has one text whatever the size of the keyset or batch,
// so that one preparation serves every call: on SQLite a save writes a
// row per statement, which costs no round trip there, and uses go in
// chunks of useChunk; on PostgreSQL, where each statement is a round
// trip, the rows travel as one JSON document per table.
type writeStmts struct {
	// SQLite's compare-and-swap, and on PostgreSQL the whole save.
	insertOwner, bumpVersion, save *sql.Stmt
	// The uses of a batch: on SQLite a chunk of useChunk of them, on
	// PostgreSQL all of them; usesHashed is PostgreSQL's for a batch of
	// a good part of the table's values (see pgHashUses).
	uses, usesHashed *sql.Stmt

	// SQLite only: one key's row, one value's row, the removal of a
	// value or a key, or of those of an owner that a keyset does not
	// hold, and the last use of a removed value kept by its key.
	upsertKey, upsertValue                  *sql.Stmt
	deleteValue, deleteKey                  *sql.Stmt
	deleteValuesBut, deleteKeysBut, foldUse *sql.Stmt
}

// prepare prepares the statements of dialect d on db. On failure it
// closes those it prepared.
func (w *writeStmts) prepare(ctx context.Context, db *sql.DB, d Dialect) error {
	type stmt struct {
		dst   **sql.Stmt
		query string
	}
	var list []stmt
	if d == Postgres {
		list = append(list,
			stmt{&w.save, pgSave},
			stmt{&w.uses, pgRecordUses},
			stmt{&w.usesHashed, pgRecordUsesHashed},
		)
	} else {
		list = append(list,
			stmt{&w.insertOwner, sqliteInsertOwner},
			stmt{&w.bumpVersion, sqliteBumpVersion},
			stmt{&w.upsertKey, sqliteUpsertKey},
			stmt{&w.upsertValue, sqliteUpsertValue},
			stmt{&w.deleteValue, sqliteDeleteValue},
			stmt{&w.deleteKey, sqliteDeleteKey},
			stmt{&w.deleteValuesBut, sqliteDeleteValuesBut},
			stmt{&w.deleteKeysBut, sqliteDeleteKeysBut},
			stmt{&w.foldUse, sqliteFoldUse},
			stmt{&w.uses, sqliteRecordUses(useChunk)},
		)
	}
	for _, s := range list {
		var err error
		if *s.dst, err = db.PrepareContext(ctx, s.query); err != nil {
			_ = w.close() // the error that matters is this one
			return err
		}
	}
	return nil
}

// close closes the statements prepared.
func (w *writeStmts) close() error {
	var err error
	for _, s := range []*sql.Stmt{
		w.insertOwner, w.bumpVersion, w.save, w.uses, w.usesHashed,
		w.upsertKey, w.upsertValue, w.deleteValue, w.deleteKey, w.deleteValuesBut, w.deleteKeysBut, w.foldUse,
	} {
		if s != nil {
			err = errors.Join(err, s.Close())
		}
	}
	return err
}

// inWriteTx runs fn in a transaction and commits it if fn returns nil.
// On SQLite the first statement fn runs must write: that statement then
// takes the write lock, waiting within busy_timeout for a writer in
// another process, as BEGIN IMMEDIATE would, and database/sql's own
// transaction can run statements prepared for the pool. Writers of this
// process queue on s.writer first, where waiting heeds their context.
//
// The statements fn runs heed ctx, and so does waiting for a connection,
// but the COMMIT does not: once asked for, it finishes, so that a context
// done at that moment cannot leave the caller told that a write failed
// while the database commits it.
func (s *Store) inWriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.writer != nil {
		select {
		case s.writer <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.writer }()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	end := context.WithoutCancel(ctx)
	tx, err := conn.BeginTx(end, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		if tx.Rollback() != nil && s.dialect == SQLite {
			// SQLite may have ended the transaction itself; if it did
			// not, the connection must not go back to the pool inside one.
			rollback(end, conn)
		}
		return err // fn's error is the one to report
	}
	if err := tx.Commit(); err != nil {
		if s.dialect == SQLite {
			rollback(end, conn)
		}
		return err
	}
	return nil
}

// The columns the key statements write, in the order of keyArgs, and
// those the value statements write, in the order of valueArgs.
const (
	keyInsertColumns = `owner, position, id, name, format, custom, hmac, scopes, networks,
	rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, last_used_at, last_used_ip,
	reminded_for, reminded_at`
	valueInsertColumns = `owner, secret_id, id, position, hint, digest, sealed_kek_id,
	sealed_ciphertext, created_at, expires_at, last_used_at, last_used_ip, reminded_at`
)

// keyUpdate and valueUpdate are what an upsert does to a stored row of
// the same id: nothing, not even a new row version, when the row holds
// what is being saved; otherwise every column is set but the last use,
// which is kept when the stored one is later, as [store.Store] promises:
// uses may have been recorded since the keyset was read, and comparing
// here, in the statement that writes, loses none of them. In these
// clauses the table's name is the stored row and excluded the one being
// saved. Both dialects speak this SQL.
const (
	keyUpdate = `position = excluded.position, name = excluded.name, format = excluded.format,
	custom = excluded.custom, hmac = excluded.hmac, scopes = excluded.scopes, networks = excluded.networks,
	rate_limit = excluded.rate_limit, metadata = excluded.metadata, created_at = excluded.created_at,
	updated_at = excluded.updated_at, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at,
	reminded_for = excluded.reminded_for, reminded_at = excluded.reminded_at,
	last_used_at = CASE WHEN ` + keyUseWins + ` THEN excluded.last_used_at ELSE secrets.last_used_at END,
	last_used_ip = CASE WHEN ` + keyUseWins + ` THEN excluded.last_used_ip ELSE secrets.last_used_ip END
WHERE (` + keyUseWins + ` AND (excluded.last_used_at, excluded.last_used_ip)
		IS DISTINCT FROM (secrets.last_used_at, secrets.last_used_ip))
	OR (secrets.position, secrets.name, secrets.format, secrets.custom, secrets.hmac,
	secrets.scopes, secrets.networks, secrets.rate_limit, secrets.metadata, secrets.created_at,
	secrets.updated_at, secrets.expires_at, secrets.revoked_at, secrets.reminded_for, secrets.reminded_at)
	IS DISTINCT FROM (excluded.position, excluded.name, excluded.format, excluded.custom, excluded.hmac,
	excluded.scopes, excluded.networks, excluded.rate_limit, excluded.metadata, excluded.created_at,
	excluded.updated_at, excluded.expires_at, excluded.revoked_at, excluded.reminded_for, excluded.reminded_at)`

	valueUpdate = `secret_id = excluded.secret_id, position = excluded.position, hint = excluded.hint,
	digest = excluded.digest, sealed_kek_id = excluded.sealed_kek_id,
	sealed_ciphertext = excluded.sealed_ciphertext, created_at = excluded.created_at,
	expires_at = excluded.expires_at, reminded_at = excluded.reminded_at,
	last_used_at = CASE WHEN ` + valueUseWins + ` THEN excluded.last_used_at ELSE secret_values.last_used_at END,
	last_used_ip = CASE WHEN ` + valueUseWins + ` THEN excluded.last_used_ip ELSE secret_values.last_used_ip END
WHERE (` + valueUseWins + ` AND (excluded.last_used_at, excluded.last_used_ip)
		IS DISTINCT FROM (secret_values.last_used_at, secret_values.last_used_ip))
	OR (secret_values.secret_id, secret_values.position, secret_values.hint,
	secret_values.digest, secret_values.sealed_kek_id, secret_values.sealed_ciphertext,
	secret_values.created_at, secret_values.expires_at, secret_values.reminded_at)
	IS DISTINCT FROM (excluded.secret_id, excluded.position, excluded.hint, excluded.digest,
	excluded.sealed_kek_id, excluded.sealed_ciphertext, excluded.created_at, excluded.expires_at,
	excluded.reminded_at)`

	// keyUseWins and valueUseWins are true when the use being saved is
	// to be kept rather than the stored one: it is no earlier (NULL:
	// never used). Of two uses at the same instant the one saved stays,
	// as with memstore.
	keyUseWins   = `(excluded.last_used_at IS NOT NULL AND (secrets.last_used_at IS NULL OR excluded.last_used_at >= secrets.last_used_at))`
	valueUseWins = `(excluded.last_used_at IS NOT NULL AND (secret_values.last_used_at IS NULL OR excluded.last_used_at >= secret_values.last_used_at))`
)

// The statements of a save on SQLite.
//
// The compare-and-swap: sqliteInsertOwner creates the owner at version 1
// with its designation ($2) and due time ($3), or does nothing if it
// exists; sqliteBumpVersion changes the owner's row only if the version
// is still the one the keyset was read at ($2), setting the designation
// ($3) and due time ($4). Both mark the owner changed for [Store.Changes]
// with the next number of a sequence, which grows in commit order because
// SQLite has one writer at a time.
//
// The rows: a key's, from the arguments of keyArgs; a value's, from those
// of valueArgs; the removal of one of the owner's ($1) values or keys by
// its id ($2), for a save that knows what it removes (see writesOf), or
// of those whose ids are not in the JSON array $2 (…But), for one that
// does not. Keys go before their values and removals last, so that a
// value cannot take the digest of one removed in the same save, as with
// memstore.
//
// The removal of values returns their last uses, which RecordUses wrote
// to them alone: sqliteFoldUse then moves their key's own last use ($3,
// $4) forward to each, so that the key keeps it.
const (
	sqliteInsertOwner = `INSERT INTO owners (owner, version, signing, due_at, change_seq)
VALUES ($1, 1, $2, $3, (SELECT coalesce(max(change_seq), 0) + 1 FROM owners))
ON CONFLICT (owner) DO NOTHING`
	sqliteBumpVersion = `UPDATE owners SET version = version + 1, signing = $3, due_at = $4,
	change_seq = (SELECT coalesce(max(change_seq), 0) + 1 FROM owners)
WHERE owner = $1 AND version = $2`
	sqliteUpsertKey = `INSERT INTO secrets (` + keyInsertColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (owner, id) DO UPDATE SET ` + keyUpdate
	sqliteUpsertValue = `INSERT INTO secret_values (` + valueInsertColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (owner, id) DO UPDATE SET ` + valueUpdate
	sqliteDeleteValue     = `DELETE FROM secret_values WHERE owner = $1 AND id = $2 RETURNING secret_id, last_used_at, last_used_ip`
	sqliteDeleteValuesBut = `DELETE FROM secret_values WHERE owner = $1 AND id NOT IN (SELECT value FROM json_each($2))
RETURNING secret_id, last_used_at, last_used_ip`
	sqliteFoldUse = `UPDATE secrets SET last_used_at = $3, last_used_ip = $4
WHERE owner = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < $3)`
	sqliteDeleteKey     = `DELETE FROM secrets WHERE owner = $1 AND id = $2`
	sqliteDeleteKeysBut = `DELETE FROM secrets WHERE owner = $1 AND id NOT IN (SELECT value FROM json_each($2))`
)

// pgSave is a save on PostgreSQL: one call of rotor_save, a function
// that migration 6 creates, which writes what a save on SQLite does, in
// the same order, and notifies listeners (see its text), and commits
// when it returns: one round trip.
const pgSave = `SELECT rotor_save($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

// saveGrace is how long past its context's deadline a save on PostgreSQL
// waits for its answer: it has stopped waiting for locks by then, so only
// a server or network that has stopped answering keeps it that long.
const saveGrace = 10 * time.Second

// savePostgres writes ks as w says on PostgreSQL, in one statement that
// commits as it ends. The statement does not heed ctx, so that its
// answer, which says whether it committed, is never lost to the caller's
// context: ctx's deadline bounds instead how long the save waits for a
// lock there, after which it fails and changes nothing.
func (s *Store) savePostgres(ctx context.Context, ks *store.Keyset, im *rowImages, w *rowWrites) error {
	call := context.WithoutCancel(ctx)
	var lockWait time.Duration // none
	if deadline, ok := ctx.Deadline(); ok {
		lockWait = max(time.Until(deadline), time.Millisecond)
		var cancel context.CancelFunc
		call, cancel = context.WithTimeout(call, lockWait+saveGrace)
		defer cancel()
	}
	var saved bool
	err := s.w.save.QueryRowContext(call, ks.Owner, ks.Version, nullText(ks.Signing), micros(ks.DueAt),
		jsonArray(w.keys), jsonArray(w.values), ids(im.values), ids(im.keys), w.prune(), s.channel,
		(lockWait + time.Millisecond - 1).Milliseconds()).Scan(&saved)
	switch {
	case err != nil:
		return saveError(err)
	case !saved:
		return store.ErrConflict
	}
	return nil
}

// saveRows writes in tx, on SQLite, the rows of ks that w says, whose
// owner's row the transaction has just written.
func (s *Store) saveRows(ctx context.Context, tx *sql.Tx, owner string, im *rowImages, w *rowWrites) error {
	upsertKey, upsertValue := tx.StmtContext(ctx, s.w.upsertKey), tx.StmtContext(ctx, s.w.upsertValue)
	args := make([]any, 0, 19)
	for _, k := range w.keys {
		if _, err := upsertKey.ExecContext(ctx, keyArgs(args[:0], owner, k.pos, k.rec)...); err != nil {
			return saveError(err)
		}
	}
	for _, v := range w.values {
		if _, err := upsertValue.ExecContext(ctx, valueArgs(args[:0], owner, v.key, v.pos, v.val)...); err != nil {
			return saveError(err)
		}
	}
	if w.unknown {
		if err := s.deleteValues(ctx, tx, owner, tx.StmtContext(ctx, s.w.deleteValuesBut), jsonIDs(im.values)); err != nil {
			return err
		}
		_, err := tx.StmtContext(ctx, s.w.deleteKeysBut).ExecContext(ctx, owner, jsonIDs(im.keys))
		return err
	}
	deleteValue := tx.StmtContext(ctx, s.w.deleteValue)
	for _, id := range w.removedValues {
		if err := s.deleteValues(ctx, tx, owner, deleteValue, id); err != nil {
			return err
		}
	}
	deleteKey := tx.StmtContext(ctx, s.w.deleteKey)
	for _, id := range w.removedKeys {
		if _, err := deleteKey.ExecContext(ctx, owner, id); err != nil {
			return err
		}
	}
	return nil
}

// useChunk is how many uses one statement records on SQLite: five bound
// parameters each, well within SQLite's limit of 32,766 per statement.
const useChunk = 1000

// sqliteRecordUses returns the statement that moves forward, on SQLite,
// the last use of the values named by n uses, bound as five parameters
// each (owner, key, value, time, address), whose uses [latestUses] has
// made one each. A NULL owner matches nothing. Keys are not written:
// their last use is their values' latest (see keyScan.add), and a save
// that removes a value first moves its key's own columns forward to it.
func sqliteRecordUses(n int) string {
	return `WITH u (owner, key, value, at, ip) AS (VALUES ` + useRows(n) + `)
UPDATE secret_values SET last_used_at = u.at, last_used_ip = u.ip
FROM u
WHERE secret_values.owner = u.owner AND secret_values.id = u.value AND secret_values.secret_id = u.key
	AND (secret_values.last_used_at IS NULL OR secret_values.last_used_at < u.at)`
}

// deleteValues removes, on SQLite, values of owner by del, one of the
// statements that remove values, given arg, and moves the last use of
// each one's key forward to the removed value's, which RecordUses wrote
// to the value alone.
func (s *Store) deleteValues(ctx context.Context, tx *sql.Tx, owner string, del *sql.Stmt, arg string) error {
	rows, err := del.QueryContext(ctx, owner, arg)
	if err != nil {
		return err
	}
	type use struct {
		at sql.NullInt64
		ip sql.NullString
	}
	latest := map[string]use{}
	for rows.Next() {
		var key string
		var u use
		if err := rows.Scan(&key, &u.at, &u.ip); err != nil {
			rows.Close()
			return err
		}
		if l, ok := latest[key]; u.at.Valid && (!ok || u.at.Int64 > l.at.Int64) {
			latest[key] = u
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for key, u := range latest {
		if _, err := tx.StmtContext(ctx, s.w.foldUse).ExecContext(ctx, owner, key, u.at, u.ip); err != nil {
			return err
		}
	}
	return nil
}

// useRows returns n rows of five parameters: "(?, ?, ?, ?, ?), …".
func useRows(n int) string {
	return strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", n), ", ")
}

// The statements of RecordUses on PostgreSQL, for uses of any number,
// given as five arrays of one element per use: owners, keys, values,
// times and addresses (the empty string for none). Arrays, which the
// driver sends in binary, cost the server half the time that a JSON
// document of the same uses does.
//
// pgLockOwners first takes the rows of the owners named, in the byte
// order of their names: saves take an owner's row first too, by their
// compare-and-swap, so the rows of an owner's keys and values are only
// ever written by the one transaction that holds its row, and writers
// that take owners in one order never wait for each other in a cycle.
// Locking owners, not each key and value, locks one row per owner rather
// than two per use. FOR NO KEY UPDATE waits for saves and other uses but
// lets keys be inserted for the owner (their foreign keys take KEY
// SHARE).
//
// It also returns the planner's estimate of the values stored, by which
// recordUses picks how pgRecordUses is to find the rows of the uses:
// through the primary key, a lookup per use, or, for a batch of a good
// part of the table (pgHashUses), as pgRecordUsesHashed, which is the
// same statement planned with a hash join over one scan of the table,
// as a batch of every key used in a busy minute wants: a fifth of the
// time then. Each text is prepared once per connection and planned on
// its first run there, under the settings its transaction gives it
// (pgGenericPlans, and pgNoNestedLoop for the hashed one), and keeps
// that plan.
//
// pgRecordUses then does what sqliteRecordUses does, for every use at
// once.
const (
	pgUses = `unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) AS u(o, k, v, at, ip)`

	pgLockOwners = `SELECT count(*), (SELECT reltuples FROM pg_class WHERE oid = 'secret_values'::regclass)::float8 FROM (
	SELECT owner FROM owners WHERE owner = ANY($1::text[])
	ORDER BY owner COLLATE "C" FOR NO KEY UPDATE
) locked`

	pgRecordUses = `UPDATE secret_values v SET last_used_at = u.at, last_used_ip = nullif(u.ip, '')
FROM ` + pgUses + `
WHERE v.owner = u.o AND v.secret_id = u.k AND v.id = u.v AND (v.last_used_at IS NULL OR v.last_used_at < u.at)`

	pgRecordUsesHashed = `/* hashed */ ` + pgRecordUses

	pgNoNestedLoop = `SET LOCAL enable_nestloop = off`
)

// pgHashUses says when a batch of uses is written by a hash join: when it
// holds at least a quarter as many uses as the table holds values, and a
// thousand. A lookup through the index costs some six times what a row
// of the scan does, here and in PostgreSQL's own cost model.
func pgHashUses(uses int, values float64) bool {
	return uses >= 1000 && float64(uses)*4 >= values
}

// pgGenericPlans makes the statements of the transaction use generic
// plans, planned once for any parameters.
// work_mem lets the sort or hash of a large batch stay in memory.
const pgGenericPlans = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('work_mem', '64MB', true)`

// recordUses writes uses, made one per value by latestUses, in tx.
func (s *Store) recordUses(ctx context.Context, tx *sql.Tx, uses []store.Use) error {
	if s.dialect == Postgres {
		owners, keys, values := make([]string, len(uses)), make([]string, len(uses)), make([]string, len(uses))
		ats, ips := make([]int64, len(uses)), make([]string, len(uses))
		for i, u := range uses {
			owners[i], keys[i], values[i], ats[i] = u.Owner, u.KeyID, u.ValueID, u.At.UnixMicro()
			if u.IP.IsValid() {
				ips[i] = u.IP.String()
			}
		}
		// A custom plan would fold the arrays into the plan as constants,
		// and copy them, megabytes of them, over and over while planning;
		// the generic plan reads them as the parameters they are.
		if _, err := tx.ExecContext(ctx, pgGenericPlans); err != nil {
			return err
		}
		var locked int
		var stored float64 // -1 or 0 when the table was never analyzed
		if err := tx.QueryRowContext(ctx, pgLockOwners, slices.Compact(slices.Clone(owners))).Scan(&locked, &stored); err != nil {
			return err
		}
		stmt := s.w.uses
		if pgHashUses(len(uses), stored) {
			if _, err := tx.ExecContext(ctx, pgNoNestedLoop); err != nil {
				return err
			}
			stmt = s.w.usesHashed
		}
		_, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, owners, keys, values, ats, ips)
		return err
	}
	args := make([]any, 0, 5*len(uses))
	for _, u := range uses {
		args = append(args, u.Owner, u.KeyID, u.ValueID, u.At.UnixMicro(), addrColumn(u.IP))
	}
	full := tx.StmtContext(ctx, s.w.uses)
	for rest := args; len(rest) > 0; {
		chunk := rest[:min(len(rest), 5*useChunk)]
		rest = rest[len(chunk):]
		var err error
		if n := len(chunk) / 5; n == useChunk {
			_, err = full.ExecContext(ctx, chunk...)
		} else {
			// The last chunk of a batch, parsed for its size once.
			_, err = tx.ExecContext(ctx, sqliteRecordUses(n), chunk...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// storable reports whether s is text every dialect stores: valid UTF-8
// without NUL, as [store.Keyset.Validate] requires of ids.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// appendKeyJSON appends to b the JSON object that rotor_save reads for
// r, the key at position pos.
func appendKeyJSON(b []byte, pos int, r *store.Record) []byte {
	b = append(b, `{"position":`...)
	b = strconv.AppendInt(b, int64(pos), 10)
	b = appendJSONString(append(b, `,"id":`...), r.ID)
	b = appendJSONString(append(b, `,"name":`...), r.Name)
	b = appendJSONString(append(b, `,"format":`...), string(r.Format))
	b = strconv.AppendBool(append(b, `,"custom":`...), r.Custom)
	b = strconv.AppendBool(append(b, `,"hmac":`...), r.HMAC)
	b = appendJSONValue(append(b, `,"scopes":`...), jsonColumn(len(r.Scopes), r.Scopes))
	b = appendJSONValue(append(b, `,"networks":`...), jsonColumn(len(r.Networks), r.Networks))
	b = strconv.AppendInt(append(b, `,"rate_limit":`...), int64(r.RateLimit), 10)
	b = appendJSONValue(append(b, `,"metadata":`...), jsonColumn(len(r.Metadata), r.Metadata))
	b = appendJSONValue(append(b, `,"created_at":`...), micros(r.CreatedAt))
	b = appendJSONValue(append(b, `,"updated_at":`...), micros(r.UpdatedAt))
	b = appendJSONValue(append(b, `,"expires_at":`...), micros(r.ExpiresAt))
	b = appendJSONValue(append(b, `,"revoked_at":`...), micros(r.RevokedAt))
	b = appendJSONValue(append(b, `,"last_used_at":`...), micros(r.LastUsedAt))
	b = appendJSONText(append(b, `,"last_used_ip":`...), addrColumn(r.LastUsedIP))
	b = appendJSONValue(append(b, `,"reminded_for":`...), micros(r.RemindedFor))
	b = appendJSONValue(append(b, `,"reminded_at":`...), micros(r.RemindedAt))
	return append(b, '}')
}

// appendValueJSON appends to b the JSON object that rotor_save reads for
// v, the value at position pos (0 for the current one) of the key id.
// Bytes are text in bytea's hex format.
func appendValueJSON(b []byte, id string, pos int, v *store.Value) []byte {
	b = appendJSONString(append(b, `{"secret_id":`...), id)
	b = appendJSONString(append(b, `,"id":`...), v.ID)
	b = strconv.AppendInt(append(b, `,"position":`...), int64(pos), 10)
	b = appendJSONString(append(b, `,"hint":`...), v.Hint)
	b = appendHexJSON(append(b, `,"digest":`...), v.Digest[:])
	b = appendJSONString(append(b, `,"sealed_kek_id":`...), v.Sealed.KEKID)
	b = appendHexJSON(append(b, `,"sealed_ciphertext":`...), v.Sealed.Ciphertext)
	b = appendJSONValue(append(b, `,"created_at":`...), micros(v.CreatedAt))
	b = appendJSONValue(append(b, `,"expires_at":`...), micros(v.ExpiresAt))
	b = appendJSONValue(append(b, `,"last_used_at":`...), micros(v.LastUsedAt))
	b = appendJSONText(append(b, `,"last_used_ip":`...), addrColumn(v.LastUsedIP))
	b = appendJSONValue(append(b, `,"reminded_at":`...), micros(v.RemindedAt))
	return append(b, '}')
}

// appendComma starts an element of the JSON array b, which holds '[' and
// the elements so far.
func appendComma(b []byte) []byte {
	if len(b) > 1 {
		b = append(b, ',')
	}
	return b
}

// appendJSONValue appends v, a column as micros and jsonColumn give it:
// nil, an int64, or text that is JSON already.
func appendJSONValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case int64:
		return strconv.AppendInt(b, v, 10)
	case string:
		return append(b, v...)
	}
	return append(b, "null"...)
}

// appendJSONText appends v, a column as addrColumn gives it (nil or
// text), as a JSON string or null.
func appendJSONText(b []byte, v any) []byte {
	if s, ok := v.(string); ok {
		return appendJSONString(b, s)
	}
	return append(b, "null"...)
}

// appendHexJSON appends p as a string in bytea's hex format, or null when
// p is empty, as bytesColumn stores it.
func appendHexJSON(b []byte, p []byte) []byte {
	if len(p) == 0 {
		return append(b, "null"...)
	}
	const digits = "0123456789abcdef"
	b = append(b, `"\\x`...)
	for _, c := range p {
		b = append(b, digits[c>>4], digits[c&0xf])
	}
	return append(b, '"')
}

// appendJSONString appends s as a JSON string. s is valid UTF-8, as every
// text a keyset or a recorded use holds is by the time it gets here, so
// only quotes, backslashes and control characters need escaping.
func appendJSONString(b []byte, s string) []byte {
	const digits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', digits[c>>4], digits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
