package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
	"github.com/rotorkit/rotor/store/storetest"
)

func TestStore(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newStore func(t *testing.T) *sqlstore.Store) {
		storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
	})
}

// forEachDialect runs test once per dialect, as the subtests sqlite and
// postgres, with a constructor of fresh, empty stores of that dialect.
func forEachDialect(t *testing.T, test func(t *testing.T, newStore func(t *testing.T) *sqlstore.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		test(t, func(t *testing.T) *sqlstore.Store { return sqlstoretest.SQLite(t).Open(t) })
	})
	t.Run("postgres", func(t *testing.T) {
		sqlstoretest.Postgres(t) // skips here, once, without a server (fails under CI=true)
		test(t, func(t *testing.T) *sqlstore.Store { return sqlstoretest.Postgres(t).Open(t) })
	})
}

// Fixtures shared by the tests of this package.
var (
	base = time.Date(2025, time.March, 14, 9, 26, 53, 589793000, time.UTC)
)

// testDigest returns a distinct digest for each name.
func testDigest(name string) secrets.Digest {
	return secrets.Digest(sha256.Sum256([]byte("sqlstore test " + name)))
}

// testRecord returns a valid key whose one value's digest is
// testDigest(id).
func testRecord(id string) store.Record {
	return store.Record{
		ID:         id,
		Attributes: store.Attributes{Name: "key " + id, Format: "sk_live"},
		CreatedAt:  base,
		UpdatedAt:  base,
		Current:    store.Value{ID: id + ".v0", Hint: "abcd", Digest: testDigest(id), CreatedAt: base},
	}
}

func TestLoadKeepsOrderOfLastSave(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newStore func(t *testing.T) *sqlstore.Store) {
		is := is.New(t)
		ctx := t.Context()
		s := newStore(t)
		first := store.Keyset{Owner: "acme", Keys: []store.Record{testRecord("a"), testRecord("b"), testRecord("c")}}
		is.NoErr(s.Save(ctx, first)) // the first save works

		ks, err := s.Load(ctx, "acme")
		is.NoErr(err) // and loads
		ks.Keys = []store.Record{ks.Keys[2], testRecord("d"), ks.Keys[0]}
		is.NoErr(s.Save(ctx, ks)) // a save that reorders, adds and removes works

		got, err := s.Load(ctx, "acme")
		is.NoErr(err) // and loads
		var ids []string
		for _, r := range got.Keys {
			ids = append(ids, r.ID)
		}
		if diff := cmp.Diff([]string{"c", "d", "a"}, ids); diff != "" {
			t.Errorf("key order after a reordering save (-want +got):\n%s", diff)
		}
	})
}

func TestOpenSQLiteRefusesNonFiles(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:rotor.db?mode=memory"} {
		t.Run(path, func(t *testing.T) {
			is := is.New(t)
			s, err := sqlstore.OpenSQLite(t.Context(), path)
			var oe *store.OpError
			is.True(errors.As(err, &oe)) // a path that names no file is refused
			is.Equal(oe.Op, "open")      // when opening
			is.True(s == nil)            // with no store
		})
	}
}

func TestErrorsOmitDSN(t *testing.T) {
	const password = "hunter2-correct-horse"
	openPostgres := func(ctx context.Context, dsn string) error {
		_, err := sqlstore.OpenPostgres(ctx, dsn)
		return err
	}
	newPostgres := func(ctx context.Context, dsn string) error {
		db, err := sql.Open("pgx", dsn) // parses only when it connects
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = sqlstore.New(ctx, db, sqlstore.Postgres)
		return err
	}
	tests := []struct {
		name string
		open func(ctx context.Context, dsn string) error
		dsn  string
	}{
		// Port 1 on the loopback address refuses at once.
		{name: "Unreachable", open: openPostgres, dsn: "postgres://rotor:" + password + "@127.0.0.1:1/rotor?sslmode=disable&connect_timeout=5"},
		{name: "BadURL", open: openPostgres, dsn: "postgres://rotor:" + password + "@127.0.0.1:notaport/rotor"},
		{name: "BadKeywords", open: openPostgres, dsn: "host=127.0.0.1 user=rotor password=" + password + " port=notaport"},
		{name: "NewWithBadURL", open: newPostgres, dsn: "postgres://rotor:" + password + "@127.0.0.1:notaport/rotor"},
		{name: "NewWithBadKeywords", open: newPostgres, dsn: "host=127.0.0.1 user=rotor password=" + password + " port=notaport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			err := tt.open(t.Context(), tt.dsn)
			is.True(err != nil) // the failure is reported
			var oe *store.OpError
			is.True(errors.As(err, &oe)) // as an *OpError
			msg := err.Error()
			for _, part := range []string{tt.dsn, password, "postgres://", "password", "port="} {
				is.True(!strings.Contains(msg, part)) // that never shows the connection string, or a part of it
			}
		})
	}
}

func TestNewPanicsOnProgrammerErrors(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		name string
		db   *sql.DB
		d    sqlstore.Dialect
	}{
		{name: "NilDB", db: nil, d: sqlstore.SQLite},
		{name: "ZeroDialect", db: db, d: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			_, _ = sqlstore.New(t.Context(), tt.db, tt.d)
		})
	}
}

func TestDialectString(t *testing.T) {
	is := is.New(t)
	is.Equal(sqlstore.SQLite.String(), "sqlite")         // the SQLite dialect names itself
	is.Equal(sqlstore.Postgres.String(), "postgres")     // and so does PostgreSQL
	is.Equal(sqlstore.Dialect(0).String(), "Dialect(0)") // and the zero Dialect shows its number
}
