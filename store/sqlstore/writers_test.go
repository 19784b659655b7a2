package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
)

func TestSQLiteWaitsForOtherWriter(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "rotor.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	is.NoErr(err) // a new database opens
	defer s.Close()
	ks := store.Keyset{Owner: "acme", Keys: []store.Record{testRecord("a1")}}
	is.NoErr(s.Save(ctx, ks)) // and takes a save
	ks.Version = 1

	// Another process, as far as SQLite can tell, holds the write lock.
	other, err := sql.Open("sqlite", path)
	is.NoErr(err) // the file opens a second time
	defer other.Close()
	conn, err := other.Conn(ctx)
	is.NoErr(err) // with a connection of its own
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	is.NoErr(err) // which takes the write lock

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = s.Save(short, ks)
	is.True(errors.Is(err, context.DeadlineExceeded)) // a save that waits past its deadline reports the deadline
	err = s.RecordUses(short, []store.Use{{Owner: "acme", KeyID: "a1", ValueID: "a1.v0", At: base}})
	is.True(errors.Is(err, context.DeadlineExceeded)) // and so does recording a use

	done := make(chan error, 1)
	go func() { done <- s.Save(ctx, ks) }()
	_, err = conn.ExecContext(ctx, "ROLLBACK")
	is.NoErr(err)    // the other writer lets go
	is.NoErr(<-done) // and the save, waiting or not, goes through

	got, err := s.Load(ctx, "acme")
	is.NoErr(err)                            // the keyset loads
	is.Equal(got.Version, int64(2))          // with the one save that succeeded
	is.True(got.Keys[0].LastUsedAt.IsZero()) // and no use recorded past its deadline
}

func TestOpenSQLiteUsesWAL(t *testing.T) {
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "rotor.db")
	s, err := sqlstore.OpenSQLite(t.Context(), path)
	is.NoErr(err) // a new database opens
	defer s.Close()

	db, err := sql.Open("sqlite", path)
	is.NoErr(err) // and opens again without the store
	defer db.Close()
	var mode string
	is.NoErr(db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode)) // its journal mode reads
	is.Equal(mode, "wal")                                                        // as a write-ahead log, kept by the file
}

func TestOpenSQLiteFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows files have no Unix permission bits")
	}
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "rotor.db")
	s, err := sqlstore.OpenSQLite(t.Context(), path)
	is.NoErr(err)
	defer s.Close()
	is.NoErr(s.Save(t.Context(), store.Keyset{Owner: "acme", Keys: []store.Record{testRecord("a")}})) // a write makes the write-ahead log

	for _, p := range []string{path, path + "-wal"} {
		info, err := os.Stat(p)
		is.NoErr(err)                                    // the file exists
		is.Equal(info.Mode().Perm(), fs.FileMode(0o600)) // and only its owner may read it, whatever the umask
	}
}
