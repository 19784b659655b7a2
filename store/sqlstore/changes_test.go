package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/postgres"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// storePairs make, per dialect, two Stores over one new database (one
// schema on PostgreSQL), each with a pool of its own, as two processes
// would have.
var storePairs = []struct {
	name string
	open func(t *testing.T) (a, b *sqlstore.Store)
}{
	{name: "sqlite", open: func(t *testing.T) (a, b *sqlstore.Store) {
		path := filepath.Join(t.TempDir(), "rotor.db")
		open := func() *sqlstore.Store {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			})
			return s
		}
		return open(), open()
	}},
	{name: "postgres", open: func(t *testing.T) (a, b *sqlstore.Store) {
		db := sqlstoretest.Postgres(t)
		return db.Open(t), db.Open(t)
	}},
}

// newPostgresOver returns a Store over db, a pool that DB.SQL opened, so
// the test closes it.
func newPostgresOver(t *testing.T, db *sql.DB) *sqlstore.Store {
	t.Helper()
	s, err := postgres.New(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// distinct returns the owners in owners, each once, sorted.
func distinct(owners []string) []string {
	out := slices.Clone(owners)
	slices.Sort(out)
	return slices.Compact(out)
}

// within reports whether every owner in owners is one of allowed.
func within(owners []string, allowed ...string) bool {
	for _, o := range owners {
		if !slices.Contains(allowed, o) {
			return false
		}
	}
	return true
}

// saveNew saves a new keyset of owner with one record, id, at version 0.
func saveNew(t *testing.T, s *sqlstore.Store, owner, id string) {
	t.Helper()
	if err := s.Save(t.Context(), store.Keyset{Owner: owner, Keys: []store.Record{testRecord(id)}}); err != nil {
		t.Fatalf("save %s: %v", owner, err)
	}
}

func TestChanges(t *testing.T) {
	for _, pair := range storePairs {
		t.Run(pair.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			s, other := pair.open(t)

			owners, cursor, err := s.Changes(ctx, "")
			is.NoErr(err)            // the empty cursor is accepted
			is.Equal(len(owners), 0) // and reports no owners
			is.True(cursor != "")    // but marks the moment

			saveNew(t, s, "a", "a1")
			saveNew(t, s, "b", "b1")
			owners, cursor, err = s.Changes(ctx, cursor)
			is.NoErr(err) // saves since the cursor are asked for
			if diff := cmp.Diff([]string{"a", "b"}, distinct(owners)); diff != "" {
				t.Errorf("owners saved since the first cursor (-want +got):\n%s", diff)
			}

			owners, cursor, err = s.Changes(ctx, cursor)
			is.NoErr(err)                     // nothing saved since is asked for
			is.True(within(owners, "a", "b")) // and nothing new is reported, though a and b may be again

			saveNew(t, other, "c", "c1")
			owners, cursor, err = s.Changes(ctx, cursor)
			is.NoErr(err)                          // a save through another Store is asked for
			is.True(slices.Contains(owners, "c"))  // and reported
			is.True(within(owners, "a", "b", "c")) // with nothing else new

			// With one cursor, a use recorded between two calls must not
			// change what the second reports: uses are not changes.
			before, _, err := s.Changes(ctx, cursor)
			is.NoErr(err) // the changes before a use are asked for
			is.NoErr(s.RecordUses(ctx, []store.Use{{Owner: "a", KeyID: "a1", ValueID: "a1.v0", At: base.Add(time.Hour)}}))
			after, _, err := s.Changes(ctx, cursor)
			is.NoErr(err) // and after it
			if diff := cmp.Diff(distinct(before), distinct(after)); diff != "" {
				t.Errorf("owners reported before and after a recorded use (-before +after):\n%s", diff)
			}
		})
	}
}

func TestChangesRefusesMalformedCursor(t *testing.T) {
	everywhere := []string{"x", "-1", "+1", "1.5", " 1", "18446744073709551616", strings.Repeat("9", 100_000)}
	dialects := []struct {
		name    string
		open    func(t *testing.T) *sqlstore.Store
		refused []string // besides those refused everywhere
	}{
		{name: "sqlite", open: func(t *testing.T) *sqlstore.Store { return sqlstoretest.SQLite(t).Open(t) }, refused: []string{
			"1:1:",                // a PostgreSQL cursor
			"9223372036854775808", // beyond SQLite's integers
		}},
		{name: "postgres", open: func(t *testing.T) *sqlstore.Store { return sqlstoretest.Postgres(t).Open(t) }, refused: []string{
			"1", "1:1", "1:1:1:", "::", // not a snapshot: a SQLite cursor, too few parts or too many
			"2:1:", "0:1:", "1:4294967296:", // xmin after xmax; invalid ids, which PostgreSQL refuses quoting them
			"1:5:0", "1:5:5", "1:5:3,2", "1:5:2,2", "1:5:2,", // in-progress ids out of range or order
			"+1:5:", "1:5: 2", "1:18446744073709551616:", strings.Repeat("1:", 50_000),
		}},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			is := is.New(t)
			s := d.open(t)
			for _, cursor := range append(everywhere, d.refused...) {
				owners, next, err := s.Changes(t.Context(), cursor)
				var oe *store.OpError
				is.True(errors.As(err, &oe))                     // a cursor no Store made is refused as an *OpError
				is.Equal(oe.Op, "changes")                       // of Changes
				is.True(strings.Contains(err.Error(), "cursor")) // that says what is wrong
				is.True(len(err.Error()) < 100)                  // without quoting the cursor
				is.True(owners == nil)                           // with no owners
				is.Equal(next, "")                               // and no cursor
			}
		})
	}
}

// A PostgreSQL cursor is a snapshot, and any snapshot PostgreSQL could
// have written is one: the oldest possible one reports every owner.
func TestChangesPostgresTakesAnySnapshot(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := sqlstoretest.Postgres(t).Open(t)
	saveNew(t, s, "a", "a1")
	saveNew(t, s, "b", "b1")
	for _, cursor := range []string{"1:1:", "3:3:", "1:10:3,4,5", "0003:00003:"} {
		owners, next, err := s.Changes(ctx, cursor)
		is.NoErr(err) // a snapshot from before every save is taken as a cursor
		if diff := cmp.Diff([]string{"a", "b"}, distinct(owners)); diff != "" {
			t.Errorf("owners saved since the snapshot %s (-want +got):\n%s", cursor, diff)
		}
		owners, _, err = s.Changes(ctx, next)
		is.NoErr(err)            // and the cursor it returns
		is.Equal(len(owners), 0) // reports no one again
	}
}

func TestChangesHeedsContext(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newStore func(t *testing.T) *sqlstore.Store) {
		is := is.New(t)
		s := newStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err := s.Changes(ctx, "")
		is.True(errors.Is(err, context.Canceled)) // a call whose context is done reports it
		var oe *store.OpError
		is.True(errors.As(err, &oe)) // as an *OpError
	})
}

// A save whose transaction began before a cursor was taken, and commits
// after, is reported by the next call: the cursor stays behind every
// transaction still running.
func TestChangesPostgresReportsLateCommit(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	db := sqlstoretest.Postgres(t)
	s := db.Open(t)
	saveNew(t, s, "x", "x1")

	tx, err := db.SQL(t).BeginTx(ctx, nil)
	is.NoErr(err) // a transaction begins
	defer tx.Rollback()
	// What Save does to the owner's row, in a transaction left open.
	res, err := tx.ExecContext(ctx, `UPDATE owners SET version = version + 1, changed_xid = pg_current_xact_id() WHERE owner = 'x'`)
	is.NoErr(err) // and marks x changed
	n, err := res.RowsAffected()
	is.NoErr(err)
	is.Equal(n, int64(1)) // in x's row

	_, cursor, err := s.Changes(ctx, "")
	is.NoErr(err) // a cursor is taken while the transaction runs
	_, cursor, err = s.Changes(ctx, cursor)
	is.NoErr(err)         // and another from a call that cannot see the change yet
	is.NoErr(tx.Commit()) // the transaction commits after both

	owners, _, err := s.Changes(ctx, cursor)
	is.NoErr(err)                         // the next call
	is.True(slices.Contains(owners, "x")) // reports the late commit
}

// heldSave is a save of the owner "held" that stays uncommitted while a
// test goes on, as Save marks an owner, in a transaction that holds back
// the oldest transaction id of every snapshot in the server.
type heldSave struct {
	xid    string       // the id of its transaction
	commit func() error // commits it
}

// holdOpen begins the held save in a transaction on a connection of its
// own, as a client that forgets to commit does.
func holdOpen(t *testing.T, admin *sql.DB) heldSave {
	t.Helper()
	ctx := t.Context()
	tx, err := admin.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() }) // unless committed
	var xid string
	err = tx.QueryRowContext(ctx, `UPDATE owners SET version = version + 1, changed_xid = pg_current_xact_id()
WHERE owner = 'held' RETURNING changed_xid::text`).Scan(&xid)
	if err != nil {
		t.Fatal(err)
	}
	return heldSave{xid: xid, commit: tx.Commit}
}

// holdPrepared makes the held save in a transaction that it prepares for
// a two-phase commit, which then belongs to no connection: it holds its
// locks and its transaction id until someone commits or rolls it back.
func holdPrepared(t *testing.T, admin *sql.DB) heldSave {
	t.Helper()
	ctx := t.Context()
	gid := "rotor_test_" + strings.ToLower(rand.Text())
	conn, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var xid string
	for _, stmt := range []string{
		`BEGIN`,
		`UPDATE owners SET version = version + 1, changed_xid = pg_current_xact_id() WHERE owner = 'held' RETURNING changed_xid::text`,
		`PREPARE TRANSACTION '` + gid + `'`,
	} {
		if strings.HasPrefix(stmt, "UPDATE") {
			err = conn.QueryRowContext(ctx, stmt).Scan(&xid)
		} else {
			_, err = conn.ExecContext(ctx, stmt)
		}
		if err != nil {
			_, _ = conn.ExecContext(ctx, `ROLLBACK`)
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	// Before the schema is dropped, which it would keep waiting: a
	// forgotten prepared transaction outlives the test's connections.
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), `ROLLBACK PREPARED '`+gid+`'`) // fails once committed
	})
	return heldSave{xid: xid, commit: func() error {
		_, err := admin.ExecContext(ctx, `COMMIT PREPARED '`+gid+`'`)
		return err
	}}
}

// preparedTransactionsDB returns a new schema in a server that allows
// prepared transactions: the one ROTOR_POSTGRES_DSN names if it does, and
// otherwise one the test starts, since max_prepared_transactions takes a
// restart to change and the shared server is not the test's to restart.
func preparedTransactionsDB(t *testing.T) *sqlstoretest.DB {
	t.Helper()
	db := sqlstoretest.Postgres(t) // skips, or fails under CI=true, without a server
	var max int
	if err := db.SQL(t).QueryRowContext(t.Context(), `SELECT current_setting('max_prepared_transactions')::int`).Scan(&max); err != nil {
		t.Fatal(err)
	}
	if max > 0 {
		return db
	}
	t.Logf("the server of %s has max_prepared_transactions = 0: starting one of the test's own", sqlstoretest.EnvDSN)
	t.Setenv(sqlstoretest.EnvDSN, startPostgres(t, "max_prepared_transactions=4"))
	return sqlstoretest.Postgres(t)
}

// TestChangesPostgresHeldTransaction saves owners one at a time while a
// save of another owner is held uncommitted — left open by a client, or
// prepared for a two-phase commit and forgotten — so that every snapshot
// in the server has its xmin at or before the held transaction. Each poll
// must report the owner saved since the one before, and only it: a
// cursor that only kept xmin would report every owner saved since the
// held transaction began, at every poll. And when the held save commits,
// the next poll must report it, once.
func TestChangesPostgresHeldTransaction(t *testing.T) {
	holders := []struct {
		name string
		db   func(t *testing.T) *sqlstoretest.DB
		hold func(t *testing.T, admin *sql.DB) heldSave
	}{
		{name: "Open", db: func(t *testing.T) *sqlstoretest.DB { return sqlstoretest.Postgres(t) }, hold: holdOpen},
		{name: "Prepared", db: preparedTransactionsDB, hold: holdPrepared},
	}
	for _, h := range holders {
		t.Run(h.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			db := h.db(t)
			admin := db.SQL(t)
			s := db.Open(t)
			saveNew(t, s, "held", "h1")
			_, cursor, err := s.Changes(ctx, "")
			is.NoErr(err) // a cursor is taken before the held save begins

			held := h.hold(t, admin)
			var visible bool
			is.NoErr(admin.QueryRowContext(ctx, `SELECT pg_visible_in_snapshot($1::text::xid8, pg_current_snapshot())`, held.xid).Scan(&visible))
			is.True(!visible) // the held save runs, and holds back every snapshot's xmin

			reported := make(map[string]int)
			const saves = 20
			for i := range saves {
				owner := fmt.Sprintf("o%02d", i)
				saveNew(t, s, owner, owner+"k")
				var owners []string
				owners, cursor, err = s.Changes(ctx, cursor)
				is.NoErr(err) // a poll after each save
				if diff := cmp.Diff([]string{owner}, owners); diff != "" {
					t.Fatalf("poll after saving %s, with a save held uncommitted (-want +got):\n%s", owner, diff)
				}
				for _, o := range owners {
					reported[o]++
				}
			}
			owners, cursor, err := s.Changes(ctx, cursor)
			is.NoErr(err)            // a poll with nothing saved since
			is.Equal(len(owners), 0) // reports no one, though the held save still runs

			is.NoErr(held.commit()) // the held save commits at last
			owners, cursor, err = s.Changes(ctx, cursor)
			is.NoErr(err) // and the next poll
			if diff := cmp.Diff([]string{"held"}, owners); diff != "" {
				t.Errorf("poll after the held save committed (-want +got):\n%s", diff)
			}
			owners, _, err = s.Changes(ctx, cursor)
			is.NoErr(err)            // and the one after
			is.Equal(len(owners), 0) // reports it no more

			for i := range saves {
				is.Equal(reported[fmt.Sprintf("o%02d", i)], 1) // every save was reported, once
			}
			ks, err := s.Load(ctx, "held")
			is.NoErr(err)
			is.Equal(ks.Version, int64(2)) // and the held save holds
		})
	}
}

func TestChangesAfterUpgrade(t *testing.T) {
	upgrades := []struct {
		name string
		// open returns a database with the first migration applied and an
		// owner "old" saved under it, and a function that makes a Store
		// over that database.
		open func(t *testing.T) (db *sql.DB, newStore func() *sqlstore.Store)
	}{
		{name: "sqlite", open: func(t *testing.T) (*sql.DB, func() *sqlstore.Store) {
			path := filepath.Join(t.TempDir(), "rotor.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db, func() *sqlstore.Store {
				s, err := sqlite.Open(t.Context(), path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		}},
		{name: "postgres", open: func(t *testing.T) (*sql.DB, func() *sqlstore.Store) {
			db := sqlstoretest.Postgres(t)
			return db.SQL(t), func() *sqlstore.Store { return db.Open(t) }
		}},
	}
	for _, tt := range upgrades {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			db, newStore := tt.open(t)
			first, err := os.ReadFile(filepath.Join("migrations", tt.name, "0001_keysets.sql"))
			is.NoErr(err) // the first migration reads
			for _, stmt := range []string{
				string(first),
				`CREATE TABLE rotor_migrations (version integer NOT NULL PRIMARY KEY, applied_at text NOT NULL DEFAULT '')`,
				`INSERT INTO rotor_migrations (version) VALUES (1)`,
				`INSERT INTO owners (owner, version) VALUES ('old', 1)`,
			} {
				_, err := db.ExecContext(ctx, stmt)
				is.NoErr(err) // a database is built as the first release left it
			}

			s := newStore()
			is.Equal(appliedMigrations(t, db), versionsUpTo(migrationCount(t, dialectNamed(tt.name)))) // every migration is applied
			ks, err := s.Load(ctx, "old")
			is.NoErr(err)                  // the owner saved before the upgrade loads
			is.Equal(ks.Version, int64(1)) // at its version

			owners, cursor, err := s.Changes(ctx, "")
			is.NoErr(err)             // a cursor is taken
			is.Equal(len(owners), 0)  // with no owners
			is.NoErr(s.Save(ctx, ks)) // the old owner is saved again
			owners, _, err = s.Changes(ctx, cursor)
			is.NoErr(err) // and asked for
			if diff := cmp.Diff([]string{"old"}, distinct(owners)); diff != "" {
				t.Errorf("owners saved since the cursor (-want +got):\n%s", diff)
			}
		})
	}
}

// dialectNamed returns the dialect whose String is name.
func dialectNamed(name string) sqlstore.Dialect {
	if name == sqlstore.Postgres.String() {
		return sqlstore.Postgres
	}
	return sqlstore.SQLite
}

// receive returns the next value from ch, failing t if none comes within
// ten seconds: long enough never to fail a run that works.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within ten seconds", what)
	}
	var zero T
	return zero
}

// listening is a Listen running in a goroutine of its own.
type listening struct {
	changed <-chan string // the owners it reported, in order
	done    <-chan error  // what it returned
	cancel  context.CancelFunc
}

// startListen starts s.Listen and returns once it is ready. It is
// stopped, if the test has not stopped it, when t ends.
func startListen(t *testing.T, s *sqlstore.Store) *listening {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan struct{})
	changed := make(chan string, 100) // more than any test saves, so Listen never waits on the test
	done := make(chan error, 1)
	exited := make(chan struct{}) // closed when Listen has returned, whoever takes its error
	go func() {
		defer close(exited)
		done <- s.Listen(ctx, func() { close(ready) }, func(owner string) { changed <- owner })
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Listen returned before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Listen was not ready within ten seconds")
	}
	return &listening{changed: changed, done: done, cancel: cancel}
}

func TestListenPostgres(t *testing.T) {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails
	// 63 bytes, the longest a schema's name can be, so that the channel
	// needs a hash of it to fit.
	long := "rotor_test_" + hex.EncodeToString(b[:]) + strings.Repeat("x", 63-len("rotor_test_")-2*len(b))
	schemas := []struct {
		name   string
		schema func(tb testing.TB) *sqlstoretest.DB // a new schema
	}{
		{name: "ShortSchema", schema: sqlstoretest.Postgres},
		{name: "LongSchema", schema: func(tb testing.TB) *sqlstoretest.DB { return sqlstoretest.PostgresSchema(tb, long) }},
	}
	for _, tt := range schemas {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			db := tt.schema(t)
			// One connection, so that the pool can only hand out the one
			// Listen used, or a new one.
			listenDB := db.SQL(t)
			listenDB.SetMaxOpenConns(1)
			listener := newPostgresOver(t, listenDB)
			writer := db.Open(t)
			elsewhere := sqlstoretest.Postgres(t).Open(t) // over another schema of the same database

			l := startListen(t, listener)
			saveNew(t, elsewhere, "elsewhere", "e1")
			saveNew(t, writer, "acme", "a1")
			// Notifications come in commit order, so the other schema's,
			// committed first, would come first if it came at all.
			is.Equal(receive(t, l.changed, "notification"), "acme") // a save through another Store is heard, and one in another schema is not

			longOwner := strings.Repeat("ö", store.MaxOwnerLen/2)
			saveNew(t, writer, longOwner, "o1")
			is.Equal(receive(t, l.changed, "notification"), longOwner) // the longest owner is sent whole

			l.cancel()
			err := receive(t, l.done, "return from Listen")
			is.True(errors.Is(err, context.Canceled)) // Listen returns when its context is cancelled, saying so

			var channels int
			is.NoErr(listenDB.QueryRowContext(ctx, `SELECT count(*) FROM pg_listening_channels()`).Scan(&channels))
			is.Equal(channels, 0) // and the pool's connection listens to nothing: the listening one was closed
		})
	}
}

func TestListenPostgresConnectionFails(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	db := sqlstoretest.Postgres(t)
	admin := db.SQL(t)
	s := db.Open(t)
	l := startListen(t, s)

	var schema string
	is.NoErr(admin.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema)) // the schema is known
	var terminated bool
	err := admin.QueryRowContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`,
		`LISTEN "rotor_keysets:`+schema+`"`).Scan(&terminated)
	is.NoErr(err)       // the listening backend is found
	is.True(terminated) // and terminated

	err = receive(t, l.done, "return from Listen")
	is.True(err != nil)                                // Listen returns when its connection fails
	is.True(!errors.Is(err, context.Canceled))         // with the failure, not a context error
	is.True(!errors.Is(err, context.DeadlineExceeded)) // of either kind
	var oe *store.OpError
	is.True(errors.As(err, &oe)) // as an *OpError
	is.Equal(oe.Op, "listen")    // of Listen

	_, err = s.Load(ctx, "acme")
	is.True(errors.Is(err, store.ErrNotFound)) // and the Store works on
}

func TestListenSQLiteUnsupported(t *testing.T) {
	is := is.New(t)
	s := sqlstoretest.SQLite(t).Open(t)
	called := false
	err := s.Listen(t.Context(), func() { called = true }, func(string) { called = true })
	is.True(errors.Is(err, errors.ErrUnsupported)) // SQLite cannot listen, and says so at once
	var oe *store.OpError
	is.True(errors.As(err, &oe)) // as an *OpError
	is.Equal(oe.Op, "listen")    // of Listen
	is.True(!called)             // without calling back
}

// A PostgreSQL Store made with no Listener still works, and says at once
// that it cannot listen.
func TestListenPostgresWithoutListener(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s, err := sqlstore.New(ctx, sqlstoretest.Postgres(t).SQL(t), sqlstore.Postgres, nil)
	is.NoErr(err) // the Store is made
	defer s.Close()
	saveNew(t, s, "acme", "a1") // and saves, notifying no one

	called := false
	err = s.Listen(ctx, func() { called = true }, func(string) { called = true })
	is.True(errors.Is(err, errors.ErrUnsupported)) // it cannot listen, and says so at once
	var oe *store.OpError
	is.True(errors.As(err, &oe)) // as an *OpError
	is.Equal(oe.Op, "listen")    // of Listen
	is.True(!called)             // without calling back
}
