// Package sqlite opens a [sqlstore.Store] in a SQLite database file, the
// embedded default: one process, or a few on one machine, with no server
// to run.
//
//	st, err := sqlite.Open(ctx, "rotor.db")
//
// It works through modernc.org/sqlite, pure Go with no cgo, which
// registers itself with [database/sql] as the driver "sqlite" when this
// package is imported; a program that imports only package postgres links
// none of it. [Open] opens a file with the settings a Store needs, and
// [New] takes a [*sql.DB] the caller opened and keeps.
//
// The Store's behaviour — saves, lookups, the change log, migrations,
// concurrency and errors — is that of package sqlstore; a SQLite Store
// cannot listen for changes, so the cache of a Rotator over it
// (rotation.Rotator.Run) polls. Nothing is registered or started here beyond the driver: the
// package keeps no state and starts no goroutine.
package sqlite
