// Package sqlstoretest gives tests fresh sqlstore databases: a SQLite file
// of their own, or a PostgreSQL schema of their own in a shared server,
// each removed when the test ends.
//
// The PostgreSQL helpers find the server through the environment variable
// ROTOR_POSTGRES_DSN, a connection string such as
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Without it they
// skip the test, so that a plain go test passes on a machine with no
// server, except when CI=true is set: continuous integration must not skip
// silently, so there they fail the test instead.
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

	_ "github.com/jackc/pgx/v5/stdlib" // registers the driver "pgx"

	"github.com/rotorkit/rotor/store/sqlstore"
)

// EnvDSN is the environment variable that names the PostgreSQL server.
const EnvDSN = "ROTOR_POSTGRES_DSN"

// SQLite returns a Store over a new database file in a directory of its
// own, closed when tb ends.
func SQLite(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	s, err := sqlstore.OpenSQLite(tb.Context(), filepath.Join(tb.TempDir(), "rotor.db"))
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

// ServerDSN returns the connection string in ROTOR_POSTGRES_DSN. Without
// one it skips tb, or fails it under CI=true.
func ServerDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal(EnvDSN + " is not set; under CI=true the PostgreSQL tests must run")
		}
		tb.Skip(EnvDSN + " is not set; skipping a PostgreSQL test")
	}
	return dsn
}

// PostgresDSN creates a schema with a random name in the server of
// ROTOR_POSTGRES_DSN, and returns a connection string whose connections
// use it (search_path). The schema is dropped, with everything in it,
// when tb ends, after the cleanups registered later, such as those that
// close pools over it.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	return SchemaDSN(tb, "rotor_test_"+strings.ToLower(rand.Text()[:16]))
}

// SchemaDSN is [PostgresDSN] with the schema's name chosen by the caller:
// lower-case letters, digits and underscores, and unique to tb, since the
// schema is dropped when tb ends.
func SchemaDSN(tb testing.TB, schema string) string {
	tb.Helper()
	dsn := ServerDSN(tb)
	admin := Open(tb, dsn)
	if _, err := admin.ExecContext(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})

	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatal(EnvDSN + " is not a valid URL")
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// Open opens a pool over dsn with the pgx driver, closed when tb ends.
// Each call gives an independent pool, as another process would have.
func Open(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal("open postgres: the connection string does not parse")
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// Postgres returns a Store in a fresh schema (see [PostgresDSN]) over a
// pool of its own, of at most 16 connections.
func Postgres(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	return OpenPostgres(tb, PostgresDSN(tb))
}

// OpenPostgres returns a Store over a new pool of at most 16 connections
// to dsn, as returned by [PostgresDSN]: call it twice with one dsn for two
// replicas sharing a database.
func OpenPostgres(tb testing.TB, dsn string) *sqlstore.Store {
	tb.Helper()
	db := Open(tb, dsn)
	db.SetMaxOpenConns(16)
	s, err := sqlstore.New(tb.Context(), db, sqlstore.Postgres)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
