package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"modernc.org/sqlite" // registers the driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
)

// ErrNotAFile reports a path given to [Open] that names no file: "",
// ":memory:" or a "file:" URI. It comes wrapped in an [*store.OpError]
// with Op "open".
var ErrNotAFile = errors.New("sqlite: want the path of a database file")

// pragmas are what Open sets on every connection: wait up to ten seconds
// for another process's write rather than fail at once, enforce foreign
// keys, and keep up to 64 MiB of the file's pages in memory rather than
// SQLite's 2 MiB, so that a batch of recorded uses over a large store
// reads each page once and writes it at its commit, where at 2 MiB it
// read pages again and wrote them out early to make room (BenchmarkRecordUses:
// 0.55 s rather than 0.65 s for 100,000 uses). Write-ahead logging is a
// property of the file, set once by enableWAL rather than by every new
// connection.
const pragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=cache_size(-65536)"

// Open opens, creating it if need be, the SQLite database file at path,
// and returns a Store over it that [sqlstore.Store.Close] closes. Every
// connection waits up to ten seconds for a writer in another process
// (busy_timeout), enforces foreign keys and caches up to 64 MiB of pages
// (cache_size), and the file is switched to
// write-ahead logging (journal_mode=WAL), so that readers never wait for
// the writer. The pool holds at most one connection per CPU, at least
// four. path is a file name, not a URI: ":memory:" and "file:…" are
// refused with [ErrNotAFile]. A new file is created readable and
// writable by its owner only (mode 0600), and so are its journal files.
// Processes may open the same new file at once.
//
// A failure is an [*store.OpError] with Op "open" or "migrate".
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, &store.OpError{Op: "open", Err: ErrNotAFile}
	}
	// Created here, if missing, so that only its owner can read it;
	// SQLite gives its journal files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &store.OpError{Op: "open", Err: err}
	}
	if err := f.Close(); err != nil {
		return nil, &store.OpError{Op: "open", Err: err}
	}
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, &store.OpError{Op: "open", Err: err}
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := enableWAL(ctx, db); err != nil {
		_ = db.Close() // the error that matters is enableWAL's
		if ctx.Err() != nil {
			err = ctx.Err() // as sqlstore reports an ending context
		}
		return nil, &store.OpError{Op: "open", Err: err}
	}
	s, err := sqlstore.New(ctx, db, sqlstore.SQLite, &sqlstore.Options{CloseDB: true})
	if err != nil {
		_ = db.Close() // the error that matters is New's
		return nil, err
	}
	return s, nil
}

// New returns a Store over db, a SQLite database that the caller opened
// and keeps: [sqlstore.Store.Close] leaves it open. It is
// [sqlstore.New] with the [sqlstore.SQLite] dialect. db should open a
// file with busy_timeout set on every connection, as a pool opened by
// [DSN] does, and the file should preferably be in WAL mode, as [Open]
// arranges; an in-memory database will not do, since every connection in
// the pool would get its own. New panics if db is nil.
//
// A failure is an [*store.OpError] with Op "migrate".
func New(ctx context.Context, db *sql.DB) (*sqlstore.Store, error) {
	return sqlstore.New(ctx, db, sqlstore.SQLite, nil)
}

// enableWAL switches the database file to write-ahead logging, which then
// stays with the file. The switch needs the file to itself: when processes
// open a new file at once, SQLite refuses it at once, without waiting, to
// all but one of them (waiting could deadlock). Those then wait for the
// switch in progress by taking and dropping the write lock, which waits in
// busy_timeout, and try again, finding the file switched.
func enableWAL(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for range 3 {
		var mode string
		err = conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		if !isBusy(err) {
			return err // nil also when SQLite keeps another mode, as it may for some files
		}
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			return err
		}
	}
	return err
}

// isBusy reports whether err is SQLite refusing a lock that another
// connection holds.
func isBusy(err error) bool {
	var lite *sqlite.Error
	return errors.As(err, &lite) && lite.Code()&0xff == sqlite3.SQLITE_BUSY
}

// DSN returns the data source name by which [Open] opens the file at
// path: a "file:" URI that sets, on every connection, the settings Open
// describes but write-ahead logging, which Open sets on the file. A
// program that opens its own pool for [New], to size it or to share it,
// opens it with
//
//	sql.Open("sqlite", sqlite.DSN(path))
//
// to get them too. Characters that end or escape a URI path are escaped.
func DSN(path string) string {
	p := filepath.ToSlash(path)
	if filepath.VolumeName(path) != "" {
		p = "/" + p // file:///C:/… on Windows
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	return "file:" + p + "?" + pragmas
}
