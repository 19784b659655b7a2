package sqlstore

import (
	"errors"
	"strconv"
)

// Dialect names the database behind a [*sql.DB], and so the SQL a [Store]
// speaks to it. It is a plain value, safe for concurrent use. The zero
// Dialect names none, and [New] panics on it.
type Dialect int

const (
	// SQLite is SQLite 3, which package sqlite opens through
	// modernc.org/sqlite.
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL 13 or later, which package postgres opens
	// through github.com/jackc/pgx/v5.
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

// Error codes that the databases report and this package tells apart.
const (
	pgUniqueViolation   = "23505" // unique_violation
	pgDataExceptionFrom = "22"    // class 22: data exception, such as a NUL byte in text

	// SQLite's extended result codes for a row that a UNIQUE index or
	// the primary key refuses: SQLITE_CONSTRAINT_UNIQUE and
	// SQLITE_CONSTRAINT_PRIMARYKEY.
	sqliteConstraintUnique     = 2067
	sqliteConstraintPrimaryKey = 1555
)

// The errors of a database are told apart by what their types can say,
// so that this package imports no driver: PostgreSQL's SQLSTATE through a
// method SQLState, as the errors of pgx (and of lib/pq) have, and
// SQLite's extended result code through a method Code, as those of
// modernc.org/sqlite have.
type (
	sqlStater   interface{ SQLState() string }
	sqliteCoder interface{ Code() int }
)

// sqlState returns the SQLSTATE of the PostgreSQL error in err's chain,
// or "" if there is none.
func sqlState(err error) string {
	var e sqlStater
	if errors.As(err, &e) {
		return e.SQLState()
	}
	return ""
}

// isUniqueViolation reports whether err is the database refusing a row
// because a unique index already holds its key.
func isUniqueViolation(err error) bool {
	var lite sqliteCoder
	if errors.As(err, &lite) {
		code := lite.Code()
		return code == sqliteConstraintUnique || code == sqliteConstraintPrimaryKey
	}
	return sqlState(err) == pgUniqueViolation
}

// isDataException reports whether err is the database refusing a value
// it cannot hold, such as text with a NUL byte in PostgreSQL.
func isDataException(err error) bool {
	code := sqlState(err)
	return len(code) == 5 && code[:2] == pgDataExceptionFrom
}
