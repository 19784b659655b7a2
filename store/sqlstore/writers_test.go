package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

func TestSQLiteWaitsForOtherWriter(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "rotor.db")
	s, err := sqlite.Open(ctx, path)
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

// TestPostgresUsesWaitForSaves checks that recording uses and saving take
// an owner's rows in one order, keys and then values, whichever of a use's
// updates match: a save holds the owner's key rows, as it does before it
// locks the values, while uses of two keys wait for the second key; the
// first key already has a later use, so its row is left alone, but its
// value's is not. The save must then get the value rows, and both finish,
// where PostgreSQL would otherwise abort one as a deadlock.
func TestPostgresUsesWaitForSaves(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	db := sqlstoretest.Postgres(t)
	s := db.Open(t)
	is.NoErr(s.Save(ctx, store.Keyset{Owner: "acme", Keys: []store.Record{testRecord("a1"), testRecord("b1")}})) // two keys
	admin := db.SQL(t)
	later := base.Add(time.Hour)
	_, err := admin.ExecContext(ctx, `UPDATE secrets SET last_used_at = $1 WHERE owner = 'acme' AND id = 'a1'`, later.UnixMicro())
	is.NoErr(err) // a1 was used after the uses below, by another of its values

	saver, err := admin.BeginTx(ctx, nil)
	is.NoErr(err) // a transaction that locks as Save does
	defer saver.Rollback()
	var pid int
	is.NoErr(saver.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
	_, err = saver.ExecContext(ctx, `SELECT id FROM secrets WHERE owner = 'acme' ORDER BY id COLLATE "C" FOR UPDATE`)
	is.NoErr(err) // holds the owner's keys

	done := make(chan error, 1)
	go func() {
		done <- s.RecordUses(ctx, []store.Use{
			{Owner: "acme", KeyID: "a1", ValueID: "a1.v0", At: base},
			{Owner: "acme", KeyID: "b1", ValueID: "b1.v0", At: base},
		})
	}()
	for waiting := 0; waiting == 0; { // until the uses wait for the save's locks
		select {
		case err := <-done:
			t.Fatalf("RecordUses returned while a save held the keys: %v", err)
		default:
		}
		err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, pid).Scan(&waiting)
		is.NoErr(err)
	}

	_, err = saver.ExecContext(ctx, `SET LOCAL lock_timeout = '10s'`)
	is.NoErr(err)
	_, err = saver.ExecContext(ctx, `SELECT id FROM secret_values WHERE owner = 'acme' ORDER BY secret_id COLLATE "C", id COLLATE "C" FOR UPDATE`)
	is.NoErr(err)            // the save gets the values: the uses hold none of them
	is.NoErr(saver.Commit()) // and finishes
	is.NoErr(<-done)         // and so do the uses
	got, err := s.Load(ctx, "acme")
	is.NoErr(err)
	is.True(got.Keys[0].LastUsedAt.Equal(later))        // a1 keeps its later use
	is.True(got.Keys[0].Current.LastUsedAt.Equal(base)) // its value takes the one recorded
	is.True(got.Keys[1].LastUsedAt.Equal(base))         // and b1 takes its own
}
