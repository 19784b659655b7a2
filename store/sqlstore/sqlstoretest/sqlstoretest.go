// Package sqlstoretest gives tests databases of their own for package
// sqlstore: a SQLite file, or a PostgreSQL schema in a shared server, each
// removed when the test ends. There is one way to get each, [SQLite] and
// [Postgres], and one way to open a store over it, [DB.Open]:
//
//	st := sqlstoretest.SQLite(t).Open(t)
//
//	db := sqlstoretest.Postgres(t) // two replicas over one database
//	a, b := db.Open(t), db.Open(t)
//
// The PostgreSQL helpers find the server through the environment variable
// ROTOR_POSTGRES_DSN, a connection string such as
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Without it they
// skip the test, so that a plain go test passes on a machine with no
// server, except when CI=true is set: continuous integration must not skip
// silently, so there they fail the test instead.
//
// The package imports both package sqlite and package postgres, and so
// links both drivers into every test that uses it.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/postgres" // registers the driver "pgx"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"   // registers the driver "sqlite"
)

// EnvDSN is the environment variable that names the PostgreSQL server.
const EnvDSN = "ROTOR_POSTGRES_DSN"

// DB is a database of one test's own, empty when made: a SQLite file in a
// directory of the test's, or a PostgreSQL schema dropped when the test
// ends. It is safe for concurrent use. Make one with [SQLite] or
// [Postgres].
type DB struct {
	dialect sqlstore.Dialect
	// path is the SQLite file; dsn the PostgreSQL connection string that
	// names the schema (search_path).
	path, dsn string
}

// SQLite returns a new SQLite database file.
func SQLite(tb testing.TB) *DB {
	tb.Helper()
	return &DB{dialect: sqlstore.SQLite, path: filepath.Join(tb.TempDir(), "rotor.db")}
}

// Postgres returns a new schema, with a random name, in the server that
// ROTOR_POSTGRES_DSN names. Without the variable it skips tb, or fails it
// under CI=true. The schema is dropped, with everything in it, when tb
// ends, after the cleanups registered later, such as those that close the
// stores over it.
func Postgres(tb testing.TB) *DB {
	tb.Helper()
	return PostgresSchema(tb, "rotor_test_"+strings.ToLower(rand.Text()[:16]))
}

// PostgresSchema is [Postgres] with the schema's name chosen by the
// caller, for tests of names at the edges: lower-case letters, digits and
// underscores, and unique to tb, since the schema is dropped when tb ends.
func PostgresSchema(tb testing.TB, schema string) *DB {
	tb.Helper()
	server := os.Getenv(EnvDSN)
	if server == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal(EnvDSN + " is not set; under CI=true the PostgreSQL tests must run")
		}
		tb.Skip(EnvDSN + " is not set; skipping a PostgreSQL test")
	}
	admin := open(tb, "pgx", server)
	if _, err := admin.ExecContext(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	return &DB{dialect: sqlstore.Postgres, dsn: withSchema(tb, server, schema)}
}

// withSchema returns dsn with its connections' search_path set to schema.
func withSchema(tb testing.TB, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatal(EnvDSN + " is not a valid URL") // the error would quote it
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// Dialect returns the database's dialect.
func (db *DB) Dialect() sqlstore.Dialect { return db.dialect }

// DSN returns what a Store opens the database by: the SQLite file's path,
// for [sqlite.Open], or the PostgreSQL connection string that names the
// schema, for [postgres.Open]. It may hold a password: keep it out of
// logs.
func (db *DB) DSN() string {
	if db.dialect == sqlstore.SQLite {
		return db.path
	}
	return db.dsn
}

// Open returns a Store over the database, closed when tb ends, as
// [sqlite.Open] or [postgres.New] makes it. Each call gives a store with
// a pool of its own, as another process would have: call it twice for
// two replicas sharing the database. A PostgreSQL pool holds at most 16
// connections.
func (db *DB) Open(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	var s *sqlstore.Store
	var err error
	if db.dialect == sqlstore.SQLite {
		s, err = sqlite.Open(tb.Context(), db.path)
	} else {
		pool := db.SQL(tb)
		pool.SetMaxOpenConns(16)
		s, err = postgres.New(tb.Context(), pool)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// SQL returns a new pool over the database, closed when tb ends, to read
// or change its rows behind a store's back. A SQLite pool's connections
// have the settings of a store's ([sqlite.DSN]).
func (db *DB) SQL(tb testing.TB) *sql.DB {
	tb.Helper()
	if db.dialect == sqlstore.SQLite {
		return open(tb, "sqlite", sqlite.DSN(db.path))
	}
	return open(tb, "pgx", db.dsn)
}

// open opens a pool with the driver, closed when tb ends.
func open(tb testing.TB, driver, dsn string) *sql.DB {
	tb.Helper()
	pool, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal("open " + driver + ": the connection string does not parse") // the error would quote it
	}
	tb.Cleanup(func() {
		if err := pool.Close(); err != nil {
			tb.Error(err)
		}
	})
	return pool
}
