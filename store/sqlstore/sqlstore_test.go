package sqlstore_test

import (
	"crypto/sha256"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/postgres"
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
		opts *sqlstore.Options
	}{
		{name: "NilDB", db: nil, d: sqlstore.SQLite},
		{name: "ZeroDialect", db: db, d: 0},
		{name: "UnknownDialect", db: db, d: 3},
		{name: "SQLiteWithListener", db: db, d: sqlstore.SQLite, opts: &sqlstore.Options{Listener: postgres.Listener{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			_, _ = sqlstore.New(t.Context(), tt.db, tt.d, tt.opts)
		})
	}
}

func TestDialectString(t *testing.T) {
	is := is.New(t)
	is.Equal(sqlstore.SQLite.String(), "sqlite")         // the SQLite dialect names itself
	is.Equal(sqlstore.Postgres.String(), "postgres")     // and so does PostgreSQL
	is.Equal(sqlstore.Dialect(0).String(), "Dialect(0)") // and the zero Dialect shows its number
}
