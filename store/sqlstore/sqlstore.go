package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/rotorkit/rotor/store"
)

// Store is a [store.Store] kept in a SQL database through [database/sql].
// It is safe for concurrent use, by any number of goroutines and of
// processes sharing the database. Its zero value is not usable: make one
// with package sqlite's or package postgres's Open or New, or with [New].
// It is also a [store.ChangeLog] and a [store.Notifier], though only on
// PostgreSQL, and with a [Listener], can [Store.Listen] listen.
type Store struct {
	db      *sql.DB
	dialect Dialect
	// closeDB reports whether Close closes db: Options.CloseDB.
	closeDB bool
	// listener hears notifications for Listen: Options.Listener, nil
	// when the Store cannot listen.
	listener Listener
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
	// seen is what was stored of the owners lately loaded or saved, by
	// which saves write only the rows that changed.
	seen seen
	// channel is where saves notify listeners on PostgreSQL, named after
	// the schema of the tables (see channelName); "" on SQLite.
	channel string
}

var _ store.Store = (*Store)(nil)

// Options are what [New] may be told beyond the database and its
// dialect. A nil *Options, like the zero Options, means a Store that
// leaves db open when it closes and cannot listen.
type Options struct {
	// CloseDB makes [Store.Close] close db as well. By default the caller
	// keeps db, and closes it after the Store.
	CloseDB bool

	// Listener lets [Store.Listen] hear the notifications that saves send
	// on PostgreSQL; package postgres provides one for pgx. Nil means
	// that Listen reports [errors.ErrUnsupported]. SQLite sends no
	// notifications, and New panics if a SQLite Store is given one.
	Listener Listener
}

// Listener listens for PostgreSQL notifications through a driver's own
// connection, which [database/sql] cannot do; a [Store] uses it in
// [Store.Listen]. Package postgres provides one for pgx. A Listener must
// be safe for concurrent use.
type Listener interface {
	// Listen runs LISTEN channel on conn, a connection that the Store
	// took from its pool for Listen alone, then calls ready, then
	// notified with the payload of each notification on channel, one
	// call at a time, until ctx is done or the connection fails, and
	// returns why. conn is closed after Listen returns, never handed out
	// again, so Listen may leave it in any state. A Listener that cannot
	// listen over conn's driver returns at once an error matching
	// [errors.ErrUnsupported], without calling ready.
	Listen(ctx context.Context, conn *sql.Conn, channel string, ready func(), notified func(payload string)) error
}

// New returns a Store that keeps its data in db, a database of dialect
// d, after creating or upgrading its tables there (see the package
// documentation on migrations). Most programs call package sqlite's or
// package postgres's Open or New instead, which open db or check it and
// pass the right Options; New is for a database through another driver
// (see the package documentation on drivers). opts may be nil. New panics
// if db is nil, if d is not [SQLite] or [Postgres], or if opts gives a
// SQLite Store a Listener.
//
// For SQLite, db should open a file with busy_timeout set on every
// connection, and the file should preferably be in WAL mode, as package
// sqlite's Open arranges. An in-memory database will not do, since every
// connection in the pool would get its own.
//
// A failure is an [*store.OpError] with Op "migrate"; it matches
// [ErrNewerSchema] if a newer release of this package migrated db. db is
// not closed, whatever opts says.
func New(ctx context.Context, db *sql.DB, d Dialect, opts *Options) (*Store, error) {
	if db == nil {
		panic("sqlstore: New with a nil *sql.DB")
	}
	if !d.valid() {
		panic("sqlstore: New with an unknown " + d.String())
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if d == SQLite && o.Listener != nil {
		panic("sqlstore: New with a Listener for SQLite, which sends no notifications")
	}
	s := &Store{db: db, dialect: d, closeDB: o.CloseDB, listener: o.Listener}
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

// Close releases the statements the Store prepared, and closes the
// database if Options.CloseDB says so, as it does for a Store that package
// sqlite or package postgres opened; otherwise the database stays open.
// The Store must not be used after Close.
func (s *Store) Close() error {
	err := errors.Join(s.loadStmt.Close(), s.lookupStmt.Close(), s.w.close())
	if s.closeDB {
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
