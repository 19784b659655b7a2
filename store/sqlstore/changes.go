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
// no owners. An owner may be reported again by the next call. Recorded
// uses are not changes, and neither is an owner removed from the
// database by other means.
//
// A cursor is a decimal number: on PostgreSQL the oldest transaction id
// that the database may still be running, so that every save committed
// later has an id at least as large; on SQLite the last of a sequence
// that saves number in the order they commit. A cursor of the other
// dialect, or of another database, is not detected and gives a wrong
// answer; a cursor that is not a number gives an [*store.OpError] with
// Op "changes".
func (s *Store) Changes(ctx context.Context, cursor string) (owners []string, next string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, "", opError(ctx, "changes", "", err)
	}
	if cursor == "" {
		err = s.db.QueryRowContext(ctx, s.dialect.changeCursorQuery()).Scan(&next)
	} else {
		owners, next, err = s.changesSince(ctx, cursor)
	}
	if err != nil {
		return nil, "", opError(ctx, "changes", "", err)
	}
	return owners, next, nil
}

// changeCursorQuery returns the cursor that marks the moment it runs: on
// PostgreSQL the xmin of its snapshot, the oldest transaction id the
// snapshot does not see as committed; on SQLite the last number given.
func (d Dialect) changeCursorQuery() string {
	if d == Postgres {
		return `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`
	}
	return `SELECT CAST(coalesce(max(change_seq), 0) AS TEXT) FROM owners`
}

// changesQuery returns the owners marked changed at or after the cursor
// $1, each with a cursor for the next call. On PostgreSQL both come from
// one statement, and so from one snapshot: every save that snapshot does
// not see has a transaction id no smaller than its xmin, which becomes
// the next cursor, and the left join returns that cursor with a NULL
// owner when no owner changed. On SQLite the next cursor is the largest
// number seen, which the caller works out.
func (d Dialect) changesQuery() string {
	if d == Postgres {
		return `WITH snap AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS next)
SELECT o.owner, snap.next FROM snap LEFT JOIN owners o ON o.changed_xid >= $1::text::xid8`
	}
	return `SELECT owner, change_seq FROM owners WHERE change_seq > CAST($1 AS INTEGER)`
}

// changesSince runs [Dialect.changesQuery] for a cursor that is not
// empty, after checking that it is one.
func (s *Store) changesSince(ctx context.Context, cursor string) (owners []string, next string, err error) {
	from, err := strconv.ParseUint(cursor, 10, 63) // SQLite's integers are signed; xids never come near
	if err != nil {
		return nil, "", errMalformedCursor
	}
	// A canonical number, whatever sign or zeros the cursor carried.
	arg := strconv.FormatUint(from, 10)
	rows, err := s.db.QueryContext(ctx, s.dialect.changesQuery(), arg)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	last := int64(from)
	for rows.Next() {
		if s.dialect == Postgres {
			var owner *string
			if err := rows.Scan(&owner, &next); err != nil {
				return nil, "", err
			}
			if owner != nil {
				owners = append(owners, *owner)
			}
			continue
		}
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
	if s.dialect == SQLite {
		next = strconv.FormatInt(last, 10)
	}
	return owners, next, nil
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

// notifyChange tells listeners on channel $1 that owner $2 was saved;
// PostgreSQL delivers it when the transaction commits. An owner is at most
// store.MaxOwnerLen bytes, well within PostgreSQL's limit of 8000 for a
// payload.
const notifyChange = `SELECT pg_notify($1, $2)`

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
