package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/postgres"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// migrationCount returns how many numbered steps the dialect's schema has.
func migrationCount(t *testing.T, d sqlstore.Dialect) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("migrations", d.String()))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// appliedMigrations returns the versions recorded in rotor_migrations.
func appliedMigrations(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT version FROM rotor_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return versions
}

// openTogether opens n stores at once, each with its own pool, and fails
// the test unless every one opens.
func openTogether(t *testing.T, n int, open func(ctx context.Context) (*sqlstore.Store, error)) {
	t.Helper()
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start // released together, so the migrations race
			s, err := open(t.Context())
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d of %d opened at once: %v", i+1, n, err)
		}
	}
}

// versionsUpTo returns 1, 2, …, n.
func versionsUpTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestNewConcurrently(t *testing.T) {
	const (
		rounds = 5 // each on a new database, for more chances to interleave
		stores = 4
	)
	t.Run("sqlite", func(t *testing.T) {
		want := versionsUpTo(migrationCount(t, sqlstore.SQLite))
		for range rounds {
			path := filepath.Join(t.TempDir(), "rotor.db")
			openTogether(t, stores, func(ctx context.Context) (*sqlstore.Store, error) {
				return sqlite.Open(ctx, path)
			})
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, appliedMigrations(t, db)); diff != "" {
				t.Errorf("migrations recorded after %d stores opened at once (-want +got):\n%s", stores, diff)
			}
			db.Close()
		}
	})
	t.Run("postgres", func(t *testing.T) {
		want := versionsUpTo(migrationCount(t, sqlstore.Postgres))
		for range rounds {
			db := sqlstoretest.Postgres(t)
			dsn := db.DSN()
			openTogether(t, stores, func(ctx context.Context) (*sqlstore.Store, error) {
				return postgres.Open(ctx, dsn)
			})
			if diff := cmp.Diff(want, appliedMigrations(t, db.SQL(t))); diff != "" {
				t.Errorf("migrations recorded after %d stores opened at once (-want +got):\n%s", stores, diff)
			}
		}
	})
}

func TestReopen(t *testing.T) {
	reopen := map[string]func(t *testing.T) (open func() (*sqlstore.Store, error), db *sql.DB){
		"sqlite": func(t *testing.T) (func() (*sqlstore.Store, error), *sql.DB) {
			path := filepath.Join(t.TempDir(), "rotor.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return func() (*sqlstore.Store, error) { return sqlite.Open(t.Context(), path) }, db
		},
		"postgres": func(t *testing.T) (func() (*sqlstore.Store, error), *sql.DB) {
			db := sqlstoretest.Postgres(t)
			dsn := db.DSN()
			return func() (*sqlstore.Store, error) { return postgres.Open(t.Context(), dsn) }, db.SQL(t)
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			open, db := reopen[name](t)
			s, err := open()
			is.NoErr(err) // a new database opens
			want := store.Keyset{Owner: "acme", Keys: []store.Record{testRecord("a1")}}
			is.NoErr(s.Save(ctx, want)) // and takes a save
			is.NoErr(s.Close())         // and closes
			applied := appliedMigrations(t, db)

			s, err = open()
			is.NoErr(err) // it opens again
			defer s.Close()
			got, err := s.Load(ctx, "acme")
			is.NoErr(err)                                 // with the keyset saved before
			is.Equal(got.Version, int64(1))               // at its version
			is.Equal(got.Keys[0].Name, want.Keys[0].Name) // and contents
			is.Equal(appliedMigrations(t, db), applied)   // and no migration was applied twice
		})
	}
}

func TestNewRefusesNewerSchema(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "rotor.db")
	s, err := sqlite.Open(ctx, path)
	is.NoErr(err)       // a new database opens
	is.NoErr(s.Close()) // and closes

	db, err := sql.Open("sqlite", path)
	is.NoErr(err) // and opens without the store
	defer db.Close()
	_, err = db.ExecContext(ctx, "INSERT INTO rotor_migrations (version) VALUES (999)")
	is.NoErr(err) // as if a later release had migrated it

	s, err = sqlite.New(ctx, db)
	is.True(s == nil)                                // the store is not made
	is.True(errors.Is(err, sqlstore.ErrNewerSchema)) // because the schema is newer than the package
	var oe *store.OpError
	is.True(errors.As(err, &oe)) // reported as an *OpError
	is.Equal(oe.Op, "migrate")   // of the migration
}
