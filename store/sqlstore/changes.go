package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/rotorkit/rotor/store"
)

var (
	_ store.ChangeLog = (*Store)(nil)
	_ store.Notifier  = (*Store)(nil)
)

// errMalformedCursor reports a cursor that no Store made. It never
// quotes the cursor, which may be anything, of any length.
var errMalformedCursor = errors.New("sqlstore: malformed change cursor")

// Changes returns the owners whose keysets were saved, through any Store
// over the same database (or PostgreSQL schema), after the point that
// cursor marks, and the cursor to pass next time, as [store.ChangeLog]
// describes. The empty cursor marks the moment of the call and returns
// no owners. Recorded uses are not changes, and neither is an owner
// removed from the database by other means.
//
// Each call reports, once each, the owners whose latest save committed
// after the call that made cursor, and no others: a save is reported by
// the first call after it commits, however long it ran and whatever else
// runs in the database, and not again.
//
// On PostgreSQL a cursor is the snapshot of the call that made it, as
// pg_snapshot writes it ("xmin:xmax:xip,…"), and the next call asks for
// the owners whose saving transaction that snapshot did not see as
// committed: those with an id of its xmax or more, and those it saw
// running. A transaction left open anywhere in the server, or a prepared
// transaction nobody finishes, so costs a cursor one id and no more,
// where asking from xmin alone, the oldest transaction still running,
// would report every owner saved since it began, at every call. On
// SQLite a cursor is the last number of a sequence that saves take in
// the order they commit, in decimal.
//
// A cursor that is not of the Store's dialect gives an [*store.OpError]
// with Op "changes" that does not quote it. A cursor of another database
// of the same dialect is not detected, and gives a wrong answer.
func (s *Store) Changes(ctx context.Context, cursor string) (owners []string, next string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, "", opError(ctx, "changes", "", err)
	}
	switch {
	case cursor == "":
		err = s.db.QueryRowContext(ctx, s.dialect.changeCursorQuery()).Scan(&next)
	case s.dialect == Postgres:
		owners, next, err = s.postgresChangesSince(ctx, cursor)
	default:
		owners, next, err = s.sqliteChangesSince(ctx, cursor)
	}
	if err != nil {
		return nil, "", opError(ctx, "changes", "", err)
	}
	return owners, next, nil
}

// changeCursorQuery returns the cursor that marks the moment it runs: on
// PostgreSQL its snapshot; on SQLite the last number given.
func (d Dialect) changeCursorQuery() string {
	if d == Postgres {
		return `SELECT pg_current_snapshot()::text`
	}
	return `SELECT CAST(coalesce(max(change_seq), 0) AS TEXT) FROM owners`
}

// postgresChanges returns, in one statement and so from one snapshot,
// a row with that snapshot and a NULL owner, and a row for each owner
// whose changed_xid the snapshot $1 did not see: at or above its xmax,
// or among the transactions it saw running. No id is both, so no owner
// comes twice. Each branch is one range or one lookup of the index on
// changed_xid, however far behind xmin is. An owner the statement's
// snapshot shows was saved by a transaction that snapshot sees as
// committed, so the next call, from this snapshot, will not report it
// again; a save the statement cannot see yet has an id the next call
// asks for.
const postgresChanges = `SELECT NULL::text, pg_current_snapshot()::text
UNION ALL
SELECT owner, NULL FROM owners WHERE changed_xid >= pg_snapshot_xmax($1::text::pg_snapshot)
UNION ALL
SELECT owner, NULL FROM owners WHERE changed_xid = ANY (ARRAY(SELECT pg_snapshot_xip($1::text::pg_snapshot)))`

// postgresChangesSince runs postgresChanges for a cursor that is not
// empty, after checking that it is a snapshot.
func (s *Store) postgresChangesSince(ctx context.Context, cursor string) (owners []string, next string, err error) {
	since, ok := parseSnapshot(cursor)
	if !ok {
		return nil, "", errMalformedCursor
	}
	rows, err := s.db.QueryContext(ctx, postgresChanges, since.String())
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	for rows.Next() {
		var owner, snap *string
		if err := rows.Scan(&owner, &snap); err != nil {
			return nil, "", err
		}
		switch {
		case owner != nil:
			owners = append(owners, *owner)
		case snap != nil:
			next = *snap
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if next == "" {
		return nil, "", errors.New("sqlstore: the changes query returned no snapshot") // it always does
	}
	return owners, next, nil
}

// sqliteChanges returns the owners numbered after the cursor $1, each
// with its number, in the order they were saved, which the index on
// change_seq gives for nothing; the largest number is the next cursor.
const sqliteChanges = `SELECT owner, change_seq FROM owners WHERE change_seq > CAST($1 AS INTEGER) ORDER BY change_seq`

// sqliteChangesSince runs sqliteChanges for a cursor that is not empty,
// after checking that it is a number.
func (s *Store) sqliteChangesSince(ctx context.Context, cursor string) (owners []string, next string, err error) {
	from, err := strconv.ParseUint(cursor, 10, 63) // SQLite's integers are signed
	if err != nil {
		return nil, "", errMalformedCursor
	}
	// A canonical number, whatever zeros the cursor carried.
	rows, err := s.db.QueryContext(ctx, sqliteChanges, strconv.FormatUint(from, 10))
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	last := int64(from)
	for rows.Next() {
		var owner string
		var seq int64
		if err := rows.Scan(&owner, &seq); err != nil {
			return nil, "", err
		}
		owners = append(owners, owner)
		last = max(last, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	return owners, strconv.FormatInt(last, 10), nil
}

const (
	// channelPrefix starts the name of the channel on which saves notify
	// listeners, which goes on with the schema of the Store's tables.
	channelPrefix = "rotor_keysets:"
	// hashedChannelPrefix starts it instead, followed by a hash of the
	// schema, when the name would be too long. It differs from
	// channelPrefix so that no schema's name can give the same channel.
	hashedChannelPrefix = "rotor_keysets#"
	// maxChannel is the longest identifier PostgreSQL keeps whole, in
	// bytes: LISTEN truncates a longer one and pg_notify refuses it.
	maxChannel = 63
)

// A save notifies listeners of its owner within rotor_save: PostgreSQL
// delivers it when the save commits. An owner is at most
// store.MaxOwnerLen bytes, well within PostgreSQL's limit of 8000 for a
// payload.

// currentSchema names the schema in which New found or created the
// tables.
const currentSchema = `SELECT coalesce(current_schema(), '')`

// channelName returns the channel on which the saves of a Store whose
// tables are in schema notify: stores in different schemas of one
// database do not hear each other.
func channelName(schema string) string {
	if name := channelPrefix + schema; len(name) <= maxChannel {
		return name
	}
	sum := sha256.Sum256([]byte(schema))
	return hashedChannelPrefix + hex.EncodeToString(sum[:16])
}

// Listen calls changed with the owner of each keyset saved through any
// Store over the same PostgreSQL schema, as [store.Notifier] describes:
// from the moment it calls ready, one call at a time on the caller's
// goroutine, until ctx is done or the connection fails. changed should
// return quickly: notifications wait in the server while it runs.
//
// Listen holds a connection of the pool for as long as it runs, hands it
// to the Store's [Listener], and closes it when it returns, so that the
// pool never hands out a connection that is listening. It returns ctx's
// error when ctx is done; otherwise an [*store.OpError] with Op "listen"
// around the failure. On SQLite, or on a Store made with no Listener, it
// returns at once an [*store.OpError] that matches
// [errors.ErrUnsupported], and so it does if the Listener cannot listen
// over the pool's driver.
func (s *Store) Listen(ctx context.Context, ready func(), changed func(owner string)) error {
	switch {
	case s.dialect != Postgres:
		return &store.OpError{Op: "listen", Err: fmt.Errorf("sqlstore: %s cannot listen for changes: %w", s.dialect, errors.ErrUnsupported)}
	case s.listener == nil:
		return &store.OpError{Op: "listen", Err: fmt.Errorf("sqlstore: a Store made without a Listener cannot listen for changes: %w", errors.ErrUnsupported)}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.listenError(ctx, err)
	}
	defer conn.Close() // a no-op once Raw below has closed it
	err = s.listener.Listen(ctx, conn, s.channel, ready, changed)
	// Whether LISTEN ran or not, the connection is closed rather than
	// returned to the pool with a channel it listens on. Raw's error is
	// the driver.ErrBadConn that asks for that.
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	return s.listenError(ctx, err)
}

// listenError returns ctx's error if ctx is done, and otherwise err
// wrapped for Listen.
func (s *Store) listenError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &store.OpError{Op: "listen", Err: err}
}
