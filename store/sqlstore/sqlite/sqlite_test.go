package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
)

// testKeyset returns a valid keyset of owner with one key.
func testKeyset(owner string) store.Keyset {
	return store.Keyset{Owner: owner, Keys: []store.Record{{
		ID:         owner + "_key",
		Attributes: store.Attributes{Name: "test", Format: "sk_live"},
		Current: store.Value{
			ID:     owner + "_key.v0",
			Hint:   "abcd",
			Digest: secrets.Digest(sha256.Sum256([]byte("sqlite test " + owner))),
		},
	}}}
}

func TestOpenUsesWAL(t *testing.T) {
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "rotor.db")
	s, err := sqlite.Open(t.Context(), path)
	is.NoErr(err) // a new database opens
	defer s.Close()

	db, err := sql.Open("sqlite", path)
	is.NoErr(err) // and opens again without the store
	defer db.Close()
	var mode string
	is.NoErr(db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode)) // its journal mode reads
	is.Equal(mode, "wal")                                                        // as a write-ahead log, kept by the file
}

// A pool opened by DSN has, on each of its connections, the settings Open
// gives its own.
func TestDSNSetsWhatOpenSets(t *testing.T) {
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "a?b#c%d.db") // characters a URI path escapes
	db, err := sql.Open("sqlite", sqlite.DSN(path))
	is.NoErr(err)
	defer db.Close()
	db.SetMaxOpenConns(2)
	ctx := t.Context()
	// Two connections held at once, so that the second is new too.
	var conns []*sql.Conn
	for range 2 {
		conn, err := db.Conn(ctx)
		is.NoErr(err)
		conns = append(conns, conn)
		for pragma, want := range map[string]int{"busy_timeout": 10000, "foreign_keys": 1, "cache_size": -65536} {
			var got int
			is.NoErr(conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got))
			is.Equal(got, want) // as Open sets it
		}
	}
	for _, c := range conns {
		is.NoErr(c.Close())
	}
	s, err := sqlite.New(ctx, db)
	is.NoErr(err) // and a store over it works
	defer s.Close()
	is.NoErr(s.Save(ctx, testKeyset("acme")))
	_, err = os.Stat(path)
	is.NoErr(err) // in the file named, its special characters kept
}

func TestOpenFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows files have no Unix permission bits")
	}
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "rotor.db")
	s, err := sqlite.Open(t.Context(), path)
	is.NoErr(err)
	defer s.Close()
	is.NoErr(s.Save(t.Context(), testKeyset("acme"))) // a write makes the write-ahead log

	for _, p := range []string{path, path + "-wal"} {
		info, err := os.Stat(p)
		is.NoErr(err)                                    // the file exists
		is.Equal(info.Mode().Perm(), fs.FileMode(0o600)) // and only its owner may read it, whatever the umask
	}
}

func TestOpenRefusesNonFiles(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:rotor.db?mode=memory"} {
		t.Run(path, func(t *testing.T) {
			is := is.New(t)
			s, err := sqlite.Open(t.Context(), path)
			var oe *store.OpError
			is.True(errors.As(err, &oe))                // a path that names no file is refused
			is.Equal(oe.Op, "open")                     // when opening
			is.True(errors.Is(err, sqlite.ErrNotAFile)) // saying why
			is.True(s == nil)                           // with no store
		})
	}
}

func TestOpenHeedsContext(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rotor.db"))
	is.True(errors.Is(err, context.Canceled)) // a context already done is reported
	var oe *store.OpError
	is.True(errors.As(err, &oe)) // as an *OpError
	is.True(s == nil)            // with no store
}

// A Store over a database the caller opened leaves it open when it
// closes.
func TestNewKeepsCallersDB(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "rotor.db")
	db, err := sql.Open("sqlite", path)
	is.NoErr(err) // the caller opens the file
	defer db.Close()

	s, err := sqlite.New(ctx, db)
	is.NoErr(err) // a Store is made over it
	is.NoErr(s.Save(ctx, testKeyset("acme")))
	is.NoErr(s.Close())           // and closed
	is.NoErr(db.PingContext(ctx)) // leaving the caller's database open

	var owners int
	is.NoErr(db.QueryRowContext(ctx, "SELECT count(*) FROM owners").Scan(&owners))
	is.Equal(owners, 1) // with the Store's save in it

	err = s.Listen(ctx, func() {}, func(string) {})
	is.True(errors.Is(err, errors.ErrUnsupported)) // and a SQLite Store cannot listen
}
