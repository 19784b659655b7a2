package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
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

// TestPostgresUsesWaitForSaves checks that recording uses waits for a
// save of the same owner to end before it writes any of the owner's rows,
// whatever order the save writes them in: a save holds its owner's row
// from its compare-and-swap on, and recording uses takes that row first.
// Here the save, by hand, writes a value's row after its key's, while the
// uses are of that key and another: PostgreSQL would abort one of the two
// as a deadlock if the uses had taken the other key's row, or the value's,
// before waiting.
func TestPostgresUsesWaitForSaves(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	db := sqlstoretest.Postgres(t)
	s := db.Open(t)
	is.NoErr(s.Save(ctx, store.Keyset{Owner: "acme", Keys: []store.Record{testRecord("a1"), testRecord("b1")}})) // two keys
	admin := db.SQL(t)

	saver, err := admin.BeginTx(ctx, nil)
	is.NoErr(err) // a transaction that writes as Save does
	defer saver.Rollback()
	var pid int
	is.NoErr(saver.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
	_, err = saver.ExecContext(ctx, `UPDATE owners SET version = version + 1 WHERE owner = 'acme'`)
	is.NoErr(err) // holds the owner's row
	_, err = saver.ExecContext(ctx, `UPDATE secrets SET name = 'renamed' WHERE owner = 'acme' AND id = 'b1'`)
	is.NoErr(err) // and a key's

	done := make(chan error, 1)
	go func() {
		done <- s.RecordUses(ctx, []store.Use{
			{Owner: "acme", KeyID: "a1", ValueID: "a1.v0", At: base},
			{Owner: "acme", KeyID: "b1", ValueID: "b1.v0", At: base},
		})
	}()
	for waiting := 0; waiting == 0; { // until the uses wait for the save
		select {
		case err := <-done:
			t.Fatalf("RecordUses returned while a save held the owner: %v", err)
		default:
		}
		err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, pid).Scan(&waiting)
		is.NoErr(err)
	}

	_, err = saver.ExecContext(ctx, `SET LOCAL lock_timeout = '10s'`)
	is.NoErr(err)
	_, err = saver.ExecContext(ctx, `UPDATE secret_values SET hint = 'wxyz' WHERE owner = 'acme' AND id IN ('a1.v0', 'b1.v0')`)
	is.NoErr(err) // the save writes the values: the uses hold none of them
	_, err = saver.ExecContext(ctx, `UPDATE secrets SET name = 'renamed' WHERE owner = 'acme' AND id = 'a1'`)
	is.NoErr(err)            // nor the other key
	is.NoErr(saver.Commit()) // and finishes
	is.NoErr(<-done)         // and so do the uses
	got, err := s.Load(ctx, "acme")
	is.NoErr(err)
	is.Equal(got.Version, int64(2))                     // after the save
	is.True(got.Keys[0].LastUsedAt.Equal(base))         // a1 takes its use
	is.True(got.Keys[1].Current.LastUsedAt.Equal(base)) // and b1's value its own
	is.Equal(got.Keys[1].Name, "renamed")               // over what the save wrote
}

// TestUsesAndSavesConcurrently records uses and saves keysets of the same
// owners at once, from several stores over one database, batches naming
// the owners in every order: none fails (as PostgreSQL fails one of two
// transactions that deadlock), no save is lost and every key ends with
// the latest use recorded.
func TestUsesAndSavesConcurrently(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqlstoretest.DB) {
		is := is.New(t)
		ctx := t.Context()
		owners := []string{"acme", "globex", "initech"}
		stores := []*sqlstore.Store{db.Open(t), db.Open(t)}
		for _, o := range owners {
			is.NoErr(stores[0].Save(ctx, store.Keyset{Owner: o, Keys: []store.Record{testRecord(o + "-a"), testRecord(o + "-b")}}))
		}
		const rounds = 20
		var wg sync.WaitGroup
		errs := make(chan error, 4*rounds)
		for w := range 2 {
			wg.Go(func() { // uses of every key, owners in an order of the writer's own
				for i := range rounds {
					var uses []store.Use
					for j := range owners {
						o := owners[(j+w+i)%len(owners)]
						for _, k := range []string{"-b", "-a"} {
							uses = append(uses, store.Use{Owner: o, KeyID: o + k, ValueID: o + k + ".v0", At: base.Add(time.Duration(i+1) * time.Minute)})
						}
					}
					errs <- stores[w].RecordUses(ctx, uses)
				}
			})
			wg.Go(func() { // saves of each owner in turn, renaming a key
				for i := range rounds {
					o := owners[(w+i)%len(owners)]
					for {
						ks, err := stores[w].Load(ctx, o)
						if err != nil {
							errs <- err
							return
						}
						ks.Keys[i%2].Name = fmt.Sprint("renamed ", w, i)
						if err = stores[w].Save(ctx, ks); !errors.Is(err, store.ErrConflict) {
							errs <- err
							break
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			is.NoErr(err) // no write fails
		}
		total := int64(0)
		for _, o := range owners {
			ks, err := stores[0].Load(ctx, o)
			is.NoErr(err)
			total += ks.Version - 1
			for _, r := range ks.Keys {
				is.True(r.LastUsedAt.Equal(base.Add(rounds * time.Minute)))         // the latest use of each key
				is.True(r.Current.LastUsedAt.Equal(base.Add(rounds * time.Minute))) // and of each value
			}
		}
		is.Equal(total, int64(2*rounds)) // and every save, one version each
	})
}

// A save on PostgreSQL that finds its owner's row held waits for it only
// until its context's deadline, then fails with that deadline and changes
// nothing; once the row is free a save goes through.
func TestPostgresSaveWaitsUntilDeadline(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	db := sqlstoretest.Postgres(t)
	s := db.Open(t)
	ks := store.Keyset{Owner: "acme", Keys: []store.Record{testRecord("a")}}
	is.NoErr(s.Save(ctx, ks))
	ks.Version = 1

	holder, err := db.SQL(t).BeginTx(ctx, nil)
	is.NoErr(err)
	defer holder.Rollback()
	_, err = holder.ExecContext(ctx, `SELECT 1 FROM owners WHERE owner = 'acme' FOR UPDATE`)
	is.NoErr(err) // another writer holds the owner's row

	ks.Keys[0].Name = "renamed"
	deadline, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Save(deadline, ks)
	is.True(errors.Is(err, context.DeadlineExceeded)) // the save gives up at its deadline
	// rather than when its answer is given up on, saveGrace (10 s) later:
	// a bound on what it waits for, not on how fast it is.
	is.True(time.Since(start) < 5*time.Second)
	is.NoErr(holder.Rollback())

	got, err := s.Load(ctx, "acme")
	is.NoErr(err)
	is.Equal(got.Version, int64(1))     // and saved nothing
	is.Equal(got.Keys[0].Name, "key a") // not even the name
	is.NoErr(s.Save(ctx, ks))           // a save with the row free goes through
	got, err = s.Load(ctx, "acme")
	is.NoErr(err)
	is.Equal(got.Keys[0].Name, "renamed")
}
