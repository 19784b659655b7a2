package sqlstore

import (
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the database behind a [*sql.DB], and so the SQL a [Store]
// speaks to it. It is a plain value, safe for concurrent use. The zero
// Dialect names none, and [New] panics on it.
type Dialect int

const (
	// SQLite is SQLite through modernc.org/sqlite, the pure Go driver
	// registered as "sqlite".
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL through github.com/jackc/pgx/v5/stdlib, the
	// driver registered as "pgx".
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// valid reports whether d is one of the dialects this package speaks.
func (d Dialect) valid() bool { return d == SQLite || d == Postgres }

// insertOwnerQuery creates the owner at version 1 with its designation
// ($2), or does nothing if it exists: a save at version 0 of an existing
// owner is a conflict. It marks the owner changed, as
// [Dialect.bumpVersionQuery] does.
func (d Dialect) insertOwnerQuery() string {
	if d == Postgres {
		return `INSERT INTO owners (owner, version, signing, changed_xid) VALUES ($1, 1, $2, pg_current_xact_id())
ON CONFLICT (owner) DO NOTHING`
	}
	return `INSERT INTO owners (owner, version, signing, change_seq) VALUES ($1, 1, $2, (SELECT coalesce(max(change_seq), 0) + 1 FROM owners))
ON CONFLICT (owner) DO NOTHING`
}

// bumpVersionQuery is the compare-and-swap: it changes one row only if
// the version is still the one the keyset was read at ($2), and sets the
// designation ($3). On PostgreSQL a concurrent save of the same owner
// waits for the row lock and then finds the version moved. It marks the
// owner changed for [Store.Changes]: on PostgreSQL with the id of the
// saving transaction, on SQLite with the next number of a sequence, which
// grows in commit order because SQLite has one writer at a time.
func (d Dialect) bumpVersionQuery() string {
	if d == Postgres {
		return `UPDATE owners SET version = version + 1, signing = $3, changed_xid = pg_current_xact_id()
WHERE owner = $1 AND version = $2`
	}
	return `UPDATE owners SET version = version + 1, signing = $3, change_seq = (SELECT coalesce(max(change_seq), 0) + 1 FROM owners)
WHERE owner = $1 AND version = $2`
}

// Error codes that the drivers report and this package tells apart.
const (
	pgUniqueViolation   = "23505" // unique_violation
	pgDataExceptionFrom = "22"    // class 22: data exception, such as a NUL byte in text
)

// isUniqueViolation reports whether err is the database refusing a row
// because a unique index already holds its key.
func isUniqueViolation(err error) bool {
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		code := lite.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == pgUniqueViolation
}

// isBusy reports whether err is SQLite refusing a lock that another
// connection holds.
func isBusy(err error) bool {
	var lite *sqlite.Error
	return errors.As(err, &lite) && lite.Code()&0xff == sqlite3.SQLITE_BUSY
}

// isDataException reports whether err is the database refusing a value
// it cannot hold, such as text with a NUL byte in PostgreSQL.
func isDataException(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && len(pg.Code) == 5 && pg.Code[:2] == pgDataExceptionFrom
}
