package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// migrationFiles holds the schema of each dialect as numbered steps,
// migrations/<dialect>/NNNN_what.sql, applied in order and never edited
// once released: a change to the schema is a new step.
//
//go:embed migrations
var migrationFiles embed.FS

// migration is one numbered step of a dialect's schema.
type migration struct {
	version int
	sql     string
}

// migrations returns the steps of d's schema, numbered 1, 2, … in order.
func migrations(d Dialect) ([]migration, error) {
	dir := "migrations/" + d.String()
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var steps []migration
	for _, e := range entries { // ReadDir sorts by name, and names start with zero-padded numbers
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlstore: migration %s/%s is not named NNNN_what.sql", dir, e.Name())
		}
		if v != len(steps)+1 {
			return nil, fmt.Errorf("sqlstore: migration %s/%s is out of sequence", dir, e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		steps = append(steps, migration{version: v, sql: string(body)})
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("sqlstore: no migrations for %s", d)
	}
	return steps, nil
}

// migrationsTable is the statement that creates the table recording
// which steps have been applied.
func (d Dialect) migrationsTable() string {
	if d == Postgres {
		return `CREATE TABLE IF NOT EXISTS rotor_migrations (
	version    integer     NOT NULL PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`
	}
	return `CREATE TABLE IF NOT EXISTS rotor_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT`
}

// migrateLock is the statement that makes concurrent migrations of the
// same schema take turns on PostgreSQL. The advisory lock is released when
// the transaction ends, and its key depends on the schema, so stores in
// different schemas of one database do not wait for each other. On SQLite
// the write lock that begins every write transaction does the same.
const migrateLock = `SELECT pg_advisory_xact_lock(hashtextextended('rotor/sqlstore migrations ' || coalesce(current_schema(), ''), 0))`

// migrate applies, in one transaction, the steps of the schema that the
// database lacks, and records each. Processes that start at once take
// turns: the first applies the steps, the others find them applied.
func (s *Store) migrate(ctx context.Context) error {
	steps, err := migrations(s.dialect)
	if err != nil {
		return err
	}
	latest := steps[len(steps)-1].version
	return s.inTx(ctx, func(q querier) error {
		if s.dialect == Postgres {
			if _, err := q.ExecContext(ctx, migrateLock); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, s.dialect.migrationsTable()); err != nil {
			return err
		}
		var current int
		if err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM rotor_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > latest {
			return fmt.Errorf("%w: the database is at version %d, this package knows up to %d", ErrNewerSchema, current, latest)
		}
		for _, m := range steps[current:] {
			if _, err := q.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %d: %w", m.version, err)
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO rotor_migrations (version) VALUES ($1)`, m.version); err != nil {
				return err
			}
		}
		return nil
	})
}
