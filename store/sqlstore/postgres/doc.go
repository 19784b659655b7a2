// Package postgres opens a [sqlstore.Store] in a PostgreSQL database,
// for services whose replicas share their secrets.
//
//	st, err := postgres.Open(ctx, "postgres://rotor@db.internal/rotor?search_path=rotor")
//
// It works through github.com/jackc/pgx/v5 and its database/sql driver,
// which registers itself with [database/sql] as "pgx" when this package
// is imported; a program that imports only package sqlite links none of
// it. [Open] connects with a connection string, and [New] takes a
// [*sql.DB] over pgx that the caller opened and keeps. Either way the
// Store listens for other processes' saves through PostgreSQL's
// LISTEN/NOTIFY, with a [sqlstore.Listener] this package provides, so the
// cache of a Rotator over it (rotation.Rotator.Run) hears of changes at
// once.
//
// The Store needs PostgreSQL 13 or later. Its tables go into the first
// schema of the connection's search_path, which a connection string can
// set (search_path=…), so several stores can share one database; its
// behaviour — saves, lookups, the change log, notifications, migrations,
// concurrency and errors — is that of package sqlstore.
//
// # Security
//
// No error of this package, or of a Store it made, quotes the connection
// string, which may hold a password: pgx's own messages about a string it
// cannot parse are replaced by [ErrUnparsableDSN], and a failure to
// connect names the user, database and address, never a password.
package postgres
