// Package sqlstore is a [store.Store] kept in a SQL database through
// [database/sql]: an embedded SQLite file by default, and PostgreSQL when
// several replicas of a service must share their secrets.
//
// This package holds the Store, its SQL and its migrations, and imports
// no database driver. Two packages beside it each open one database, and
// link only its driver:
//
//	st, err := sqlite.Open(ctx, "rotor.db")  // package sqlstore/sqlite, through modernc.org/sqlite
//	st, err := postgres.Open(ctx, dsn)       // package sqlstore/postgres, through pgx
//
// Each also has a New that takes a [*sql.DB] the caller opened and keeps.
// Either way the tables are created or upgraded before the Store is
// returned. Nothing is registered or started behind the caller's back:
// the driver registers itself with database/sql when its package is
// imported, as drivers do, and neither this package nor those keep global
// state or start a goroutine.
//
// # Dialects and drivers
//
// A Store speaks the SQL of its [Dialect]: [SQLite], or [Postgres]
// (PostgreSQL 13 or later; see Changes below for why). [New] makes one
// over any [*sql.DB] whose driver reports errors the way these packages
// read them: PostgreSQL's through a method SQLState() string, as pgx's
// and lib/pq's errors have, and SQLite's through a method Code() int
// giving the extended result code, as modernc.org/sqlite's have; that
// is how a save refused for a digest already in use is told apart as
// [store.ErrDuplicate]. Hearing PostgreSQL's notifications needs
// the driver's own connection, which database/sql does not give: a
// [Listener] does that, and package postgres passes one for pgx.
//
// A SQLite database should be a file whose connections set busy_timeout,
// so that a writer in another process is waited for rather than reported
// as an error, and preferably journal_mode=WAL, so that readers never
// wait for a writer; package sqlite's Open sets both, and foreign_keys.
// In-memory SQLite databases will not do: each connection of a pool
// would get its own (package memstore is the in-memory Store). On
// PostgreSQL the tables go into the first schema of the connection's
// search_path, which a connection string can set (search_path=…), so
// several stores can share one database.
//
// Both keep the same columns: each owner is a row holding its keyset's
// version, and each secret a row of its own, with its position in the
// keyset, its digest under a unique index, and scopes, networks and
// metadata as JSON. Times are kept as microseconds since the Unix epoch
// and come back in UTC, so precision below the microsecond is lost.
//
// # Migrations
//
// The schema of each dialect is a sequence of numbered SQL files embedded
// in the package, and the table rotor_migrations records which have been
// applied. [New] applies the missing ones in one transaction, and
// processes that start at once take turns: PostgreSQL serializes them with
// a transaction-scoped advisory lock (one per schema), SQLite with the
// write lock of BEGIN IMMEDIATE. A database that a newer release of this
// package has migrated is refused with [ErrNewerSchema], never altered.
//
// # Changes
//
// A Store is a [store.ChangeLog]: [Store.Changes] tells which owners'
// keysets were saved since a cursor it returned before, by any process
// sharing the database, so that a cache (a rotation.Rotator's) can drop
// what went stale. Every save marks its owner's row, and each call
// reports the owners whose latest save committed since the call before,
// once. On PostgreSQL the mark is the id of the saving transaction, of
// the type xid8 that PostgreSQL 13 introduced, and a cursor is the
// snapshot of the call (pg_current_snapshot, in pg_snapshot's text): the
// next call asks for the marks that snapshot did not see as committed,
// those at or past its xmax and those of the transactions it saw
// running, so a save is reported once it commits even if it began
// before the cursor was taken, and a transaction that stays open, or a
// prepared one nobody finishes, does not make every call report again
// what was saved while it ran. On SQLite, which has one writer at a time,
// the mark is the next number of a sequence and a cursor the last number
// seen. Recorded uses are not marked, and an owner removed from the
// database is not reported.
//
// A Store is also a [store.Notifier]. On PostgreSQL every save, in its
// transaction, sends a NOTIFY with the owner, which the server delivers
// when the transaction commits, and [Store.Listen] holds a connection of
// its own on which its [Listener] LISTENs for them. The channel is
// "rotor_keysets:" followed by the schema of the tables, or
// "rotor_keysets#" and a hash of the schema when that would exceed
// PostgreSQL's 63 bytes, so stores in different schemas do not hear each
// other. The owner is sent whole: it
// is at most [store.MaxOwnerLen] bytes. On SQLite, or on a Store made
// without a Listener, Listen returns an error matching
// [errors.ErrUnsupported] at once; a cache polls Changes instead.
//
// # Concurrency
//
// A [Store] is safe for concurrent use by many goroutines and by many
// processes sharing one database. [Store.Save] is a compare-and-swap: in
// one transaction, or on PostgreSQL one statement, it moves the owner's
// version on only if it is still the one the keyset was read at
// ([store.ErrConflict] otherwise), then writes the owner's records, so
// the digest index changes in the same step.
// [Store.Load] reads the version and the records in one statement, from
// one snapshot. [Store.RecordUses] writes a whole batch in one
// transaction, never changes a version, and only moves a last use forward;
// Save compares last uses in the statement that writes, so a use recorded
// while a save runs is not lost.
//
// On PostgreSQL, saves of one owner wait for each other on the owner's row
// and then find its version moved. Recording uses takes the rows of the
// owners named, in one order, before it writes their keys and values, as
// a save takes its owner's row before it writes, so the two do not
// deadlock, and a save and a batch of uses of one owner take turns. SQLite has one writer
// at a time: writers of one Store queue in the process, heeding their
// contexts, and writers of other processes wait in busy_timeout.
//
// # Cost of a write
//
// A save writes only the rows that changed. A Store remembers the rows of
// the owners it lately loaded or saved (a few megabytes of them), as they
// were at that version, and a save over that version writes the keys and
// values whose rows differ and removes those gone: a regeneration writes
// its key and two values, however many keys the owner has. A save over a
// version the Store does not remember writes every row, and a row that
// holds what is being saved is left as it is even then. Every statement
// is prepared once for the pool. On PostgreSQL a save is one round trip,
// a call of the function rotor_save that migration 6 creates, which takes
// the owner's row, writes the rows, travelling as JSON, removes those
// gone, notifies listeners, and commits; on SQLite, where a statement
// costs no round trip, a save is a transaction that writes a row per
// statement. A batch of uses is three statements on PostgreSQL however
// many it holds, and two per thousand uses on SQLite.
//
// A save on PostgreSQL commits as its one statement ends, and so that
// its answer, which says whether it committed, is not lost, the statement
// does not stop when the save's context ends: the context's deadline
// bounds instead how long it may wait for a lock, such as the owner's row
// while another writer holds it, after which it fails and changes
// nothing. On SQLite the statements of a save heed its context, and the
// COMMIT, once asked for, finishes.
//
// # Errors
//
// Every error is an [*store.OpError] naming the operation ("load",
// "save", "lookup", "record uses", "changes", "listen", and "open" or
// "migrate" when a Store is made) and the owner, around a sentinel of
// package store, a context error, or the driver's error. When the context
// ends, the cause is the context's error, so [errors.Is] works with
// [context.Canceled] and [context.DeadlineExceeded]. The one exception is
// [Store.Listen], which returns the context's error itself when the
// context ends, as [store.Notifier] asks.
//
// # Security
//
// The database holds no plaintext: a record keeps the digest of its key,
// a four-character hint and, for secrets that sign or verify HMACs, the
// value sealed by a [secrets.Keyring] — as package store promises, and as
// a test of this package checks by reading the raw SQLite file and every
// PostgreSQL row. Error messages never show a digest or a secret, and
// package postgres keeps connection strings out of them.
package sqlstore
