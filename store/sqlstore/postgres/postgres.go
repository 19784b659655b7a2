package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // registers the driver "pgx"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
)

// ErrUnparsableDSN reports a connection string that pgx cannot parse. It
// stands in for pgx's own errors, which quote the string with only the
// password they recognise redacted, and comes wrapped in an
// [*store.OpError] with Op "open" (from [Open]) or "migrate" (from [New]).
var ErrUnparsableDSN = errors.New("postgres: cannot parse the connection string")

// Open connects to the PostgreSQL database that dsn names, in either form
// pgx accepts (postgres://… or key=value pairs; a search_path parameter
// picks the schema), and returns a Store over it that
// [sqlstore.Store.Close] closes, and whose [sqlstore.Store.Listen]
// listens through pgx.
//
// A failure is an [*store.OpError] with Op "open" or "migrate". Neither
// it nor any later error of the Store quotes dsn.
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, &store.OpError{Op: "open", Err: ErrUnparsableDSN}
	}
	db := stdlib.OpenDB(*cfg)
	s, err := sqlstore.New(ctx, db, sqlstore.Postgres, &sqlstore.Options{CloseDB: true, Listener: Listener{}})
	if err != nil {
		_ = db.Close() // the error that matters is New's
		return nil, err
	}
	return s, nil
}

// New returns a Store over db, a PostgreSQL database that the caller
// opened through pgx's driver (sql.Open("pgx", dsn) or [stdlib.OpenDB])
// and keeps: [sqlstore.Store.Close] leaves it open. It is
// [sqlstore.New] with the [sqlstore.Postgres] dialect and [Listener].
// New panics if db is nil.
//
// A failure is an [*store.OpError] with Op "migrate". When db's
// connection string does not parse, which sql.Open leaves until the first
// connection, the error matches [ErrUnparsableDSN] and does not quote the
// string; once New has connected, the string has parsed, and no later
// error of the Store can quote it either.
func New(ctx context.Context, db *sql.DB) (*sqlstore.Store, error) {
	s, err := sqlstore.New(ctx, db, sqlstore.Postgres, &sqlstore.Options{Listener: Listener{}})
	if err != nil {
		return nil, redact(err)
	}
	return s, nil
}

// redact replaces the cause of err, an [*store.OpError], by
// ErrUnparsableDSN if it is pgx failing to parse a connection string.
func redact(err error) error {
	var parse *pgconn.ParseConfigError
	var oe *store.OpError
	if !errors.As(err, &parse) || !errors.As(err, &oe) {
		return err
	}
	return &store.OpError{Op: oe.Op, Owner: oe.Owner, Err: ErrUnparsableDSN}
}
