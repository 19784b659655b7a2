package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // registers the driver "pgx"
	_ "modernc.org/sqlite"           // registers the driver "sqlite"

	"github.com/rotorkit/rotor/store"
)

// Store is a [store.Store] kept in a SQL database through [database/sql].
// It is safe for concurrent use, by any number of goroutines and of
// processes sharing the database. Its zero value is not usable: make one
// with [New], [OpenSQLite] or [OpenPostgres]. It is also a
// [store.ChangeLog] and a [store.Notifier], though on SQLite
// [Store.Listen] only reports that it cannot listen.
type Store struct {
	db      *sql.DB
	dialect Dialect
	// owned reports whether the Store opened db, and so whether Close
	// closes it.
	owned bool
	// writer is a one-slot semaphore that every write transaction holds
	// on SQLite, which has one writer at a time anyway; nil on PostgreSQL.
	// Writers of this process queue here, where waiting heeds their
	// context, instead of in SQLite's busy handler, which polls.
	writer chan struct{}
	// loadStmt and lookupStmt are the read statements, prepared once for the
	// pool: database/sql prepares each on a connection the first time it
	// runs there and reuses it after, which spares SQLite a parse per call.
	loadStmt, lookupStmt *sql.Stmt
	// w holds the statements of saves and of recorded uses, likewise.
	w writeStmts
	// channel is where saves notify listeners on PostgreSQL, named after
	// the schema of the tables (see channelName); "" on SQLite.
	channel string
}

var _ store.Store = (*Store)(nil)

// New returns a Store that keeps its data in db, a database of dialect
// d, after creating or upgrading its tables there (see the package
// documentation on migrations). The caller keeps db: [Store.Close] leaves
// it open. New panics if db is nil or d is not [SQLite] or [Postgres].
//
// For SQLite, db should open a file with busy_timeout set on every
// connection, and the file should preferably be in WAL mode, as
// [OpenSQLite] arranges. An in-memory database will not do, since every
// connection in the pool would get its own.
//
// A failure is an [*store.OpError] with Op "migrate"; it matches
// [ErrNewerSchema] if a newer release of this package migrated db.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	if db == nil {
		panic("sqlstore: New with a nil *sql.DB")
	}
	if !d.valid() {
		panic("sqlstore: New with an unknown " + d.String())
	}
	s := &Store{db: db, dialect: d}
	if d == SQLite {
		s.writer = make(chan struct{}, 1)
	}
	if err := ctx.Err(); err != nil {
		return nil, opError(ctx, "migrate", "", err)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, opError(ctx, "migrate", "", err)
	}
	if d == Postgres {
		var schema string
		if err := db.QueryRowContext(ctx, currentSchema).Scan(&schema); err != nil {
			return nil, opError(ctx, "migrate", "", err)
		}
		s.channel = channelName(schema)
	}
	var err error
	if s.loadStmt, err = db.PrepareContext(ctx, loadKeyset); err != nil {
		return nil, opError(ctx, "migrate", "", err)
	}
	if s.lookupStmt, err = db.PrepareContext(ctx, lookupDigest); err != nil {
		s.loadStmt.Close()
		return nil, opError(ctx, "migrate", "", err)
	}
	if err := s.w.prepare(ctx, db, d); err != nil {
		s.loadStmt.Close()
		s.lookupStmt.Close()
		return nil, opError(ctx, "migrate", "", err)
	}
	return s, nil
}

// sqlitePragmas are what OpenSQLite sets on every connection: wait up to
// ten seconds for another process's write rather than fail at once, and
// enforce foreign keys. Write-ahead logging is a property of the file,
// set once by enableWAL rather than by every new connection.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"

// OpenSQLite opens, creating it if need be, the SQLite database file at
// path, and returns a Store over it that [Store.Close] closes. Every
// connection waits up to ten seconds for a writer in another process
// (busy_timeout) and enforces foreign keys, and the file is switched to
// write-ahead logging (journal_mode=WAL), so that readers never wait for
// the writer. The pool holds at most one connection per CPU, at least
// four. path is a file name, not a URI: ":memory:" and "file:…" are
// refused. A new file is created readable and writable by its owner only
// (mode 0600), and so are its journal files. Processes may open the same
// new file at once.
//
// A failure is an [*store.OpError] with Op "open" or "migrate".
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, &store.OpError{Op: "open", Err: errors.New("sqlstore: want the path of a database file")}
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
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, &store.OpError{Op: "open", Err: err}
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := enableWAL(ctx, db); err != nil {
		_ = db.Close() // the error that matters is enableWAL's
		return nil, opError(ctx, "open", "", err)
	}
	s, err := New(ctx, db, SQLite)
	if err != nil {
		_ = db.Close() // the error that matters is New's
		return nil, err
	}
	s.owned = true
	return s, nil
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

// sqliteDSN returns the URI that opens the file at path with
// [sqlitePragmas]. Characters that end or escape a URI path are escaped.
func sqliteDSN(path string) string {
	p := filepath.ToSlash(path)
	if filepath.VolumeName(path) != "" {
		p = "/" + p // file:///C:/… on Windows
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	return "file:" + p + "?" + sqlitePragmas
}

// OpenPostgres connects to the PostgreSQL database that dsn names, in
// either form pgx accepts (postgres://… or key=value pairs; a
// search_path parameter picks the schema), and returns a Store over it
// that [Store.Close] closes.
//
// A failure is an [*store.OpError] with Op "open" or "migrate". Neither
// it nor any later error of the Store quotes dsn, which may hold a
// password.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, &store.OpError{Op: "open", Err: errUnparsableDSN}
	}
	db := stdlib.OpenDB(*cfg)
	s, err := New(ctx, db, Postgres)
	if err != nil {
		_ = db.Close() // the error that matters is New's
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Close releases the statements the Store prepared, and closes the
// database if [OpenSQLite] or [OpenPostgres] opened it; a database handed
// to [New] stays open. The Store must not be used after Close.
func (s *Store) Close() error {
	err := errors.Join(s.loadStmt.Close(), s.lookupStmt.Close(), s.w.close())
	if s.owned {
		err = errors.Join(err, s.db.Close())
	}
	return err
}

// querier runs statements inside a transaction: a *sql.Tx, or on SQLite
// the *sql.Conn on which the transaction was begun by hand.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a write transaction and commits it if fn returns nil.
//
// The statements fn runs heed ctx, and so does waiting for a connection,
// but the COMMIT does not: once asked for, it finishes, so that a context
// done at that moment cannot leave the caller told that a save failed
// while the server commits it. database/sql would otherwise cancel the
// COMMIT with the context the transaction was begun with.
func (s *Store) inTx(ctx context.Context, fn func(q querier) error) error {
	if s.dialect == SQLite {
		return s.inSQLiteTx(ctx, fn)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error is the one to report
		return err
	}
	return tx.Commit()
}

// inSQLiteTx runs fn in a transaction begun with BEGIN IMMEDIATE, which
// takes SQLite's write lock at once: a writer in another process makes it
// wait there, within busy_timeout, instead of failing at its first write
// as a deferred transaction would. database/sql cannot begin one, so it
// is begun and ended by hand on a connection of its own.
func (s *Store) inSQLiteTx(ctx context.Context, fn func(q querier) error) error {
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writer }()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	// Once begun, the transaction ends whatever becomes of ctx, so that
	// the connection never goes back to the pool inside one.
	end := context.WithoutCancel(ctx)
	if err := fn(conn); err != nil {
		rollback(end, conn)
		return err
	}
	if _, err := conn.ExecContext(end, "COMMIT"); err != nil {
		rollback(end, conn)
		return err
	}
	return nil
}

// rollback ends the transaction open on conn. If that fails (as it does
// when an interrupted statement already rolled it back), conn is taken out
// of the pool rather than trusted.
func rollback(ctx context.Context, conn *sql.Conn) {
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}
