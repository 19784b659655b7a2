package rotation_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// BenchmarkWrite measures what a Regenerate and a Create cost through a
// Rotator over sqlstore (rotor) against the floor: a transaction written
// by hand, with prepared statements, that reads the owner's keyset and
// writes the rows the change writes, one statement each, and no others.
//
// Regenerate: the owner holds three HMAC secrets, each with one previous
// value in a grace window of a minute, and each call regenerates the next
// of them with a minute of grace, a second after the last. The rows
// written: the owner's (its version), the secret's (UpdatedAt), the new
// value, the old one (now a previous value, with its window's end), and
// the removal of the previous value whose window was cut short. Create:
// each call creates an HMAC secret for an owner of its own, so the rows
// are the owner's, the secret's and its value's.
//
// writers=8 runs the calls from eight goroutines at once, all on the one
// owner for Regenerate, through one Rotator, and for the floor one pool:
// ns/op is then the time the eight take per call. On SQLite the floor's
// pool has one connection, so its writers queue in database/sql; on
// PostgreSQL they queue for the owner's row, which the floor's first
// statement locks.
func BenchmarkWrite(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *sqlstoretest.DB
	}{
		{"sqlite", sqlstoretest.SQLite},
		{"postgres", sqlstoretest.Postgres},
	} {
		b.Run(db.name, func(b *testing.B) {
			for _, op := range []string{"Regenerate", "Create"} {
				b.Run(op, func(b *testing.B) {
					for _, n := range []int{1, 8} {
						b.Run(fmt.Sprintf("writers=%d", n), func(b *testing.B) {
							b.Run("rotor", func(b *testing.B) { benchRotor(b, db.open(b), op, n) })
							b.Run("floor", func(b *testing.B) { benchFloor(b, db.open(b), op, n) })
						})
					}
				})
			}
		})
	}
}

// benchRotor runs op through a Rotator over a store on db.
func benchRotor(b *testing.B, db *sqlstoretest.DB, op string, writers int) {
	ctx := b.Context()
	clock := rotationtest.NewClock(t0)
	r, err := rotation.New(db.Open(b), &rotation.Options{Now: clock.Now, Keyring: secretstest.Keyring(b)})
	if err != nil {
		b.Fatal(err)
	}
	switch op {
	case "Regenerate":
		ids := benchOwner(b, r, clock)
		// A call that gives up on ErrConflict is counted, not fatal: how
		// many do is part of what is measured.
		var conflicts atomic.Int64
		loopWriters(b, writers, func(i int) error {
			_, err := r.Regenerate(ctx, "acme", ids[i%3], time.Minute)
			clock.Advance(time.Second)
			if errors.Is(err, rotation.ErrConflict) {
				conflicts.Add(1)
				return nil
			}
			return err
		})
		b.ReportMetric(float64(conflicts.Load())/float64(b.N), "conflicts/op")
	case "Create":
		loopWriters(b, writers, func(i int) error {
			_, err := r.Create(ctx, fmt.Sprint("owner_", i), rotation.Spec{HMAC: true})
			return err
		})
	}
}

// benchOwner gives acme three HMAC secrets, each regenerated once with a
// minute of grace, and returns their ids.
func benchOwner(b *testing.B, r *rotation.Rotator, clock *rotationtest.Clock) []string {
	ctx := b.Context()
	ids := make([]string, 3)
	for i := range ids {
		iss, err := r.Create(ctx, "acme", rotation.Spec{HMAC: true})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = iss.ID
	}
	for _, id := range ids {
		if _, err := r.Regenerate(ctx, "acme", id, time.Minute); err != nil {
			b.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	return ids
}

// loopWriters calls op once per turn of b.Loop, from writers goroutines
// at once, with the number of the call.
func loopWriters(b *testing.B, writers int, op func(i int) error) {
	b.ReportAllocs()
	if writers == 1 {
		for i := 0; b.Loop(); i++ {
			if err := op(i); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	calls := make(chan int)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for i := range calls {
				if err := op(i); err != nil {
					errs <- err
					for range calls { // drain, so the loop does not block
					}
					return
				}
			}
		})
	}
	for i := 0; b.Loop(); i++ {
		calls <- i
	}
	close(calls)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// floor is the hand-written equivalent of a Rotator's changes, on one
// database: prepared statements, one per row written, in a transaction
// that reads the owner's keyset.
type floor struct {
	db      *sql.DB
	dialect sqlstore.Dialect
	ring    *secrets.Keyring
	digest  secrets.Digester
	clock   *rotationtest.Clock

	load, bumpOwner, insertOwner, touchKey, insertKey, insertValue, demoteValue, deleteValue *sql.Stmt
}

// The floor's statements, numbered as PostgreSQL wants them; SQLite takes
// $n too. A change begins by writing the owner's row, which on PostgreSQL
// locks it until the transaction ends, so that the read after it, of what
// [sqlstore.Store.Load] reads, sees the keyset the change applies to.
const (
	floorRead = `SELECT o.version, o.signing, s.id, s.name, s.format, s.custom, s.hmac, s.scopes, s.networks, s.rate_limit, s.metadata,
	s.created_at, s.updated_at, s.expires_at, s.revoked_at, s.last_used_at, s.last_used_ip,
	v.id, v.hint, v.digest, v.sealed_kek_id, v.sealed_ciphertext, v.created_at, v.expires_at, v.last_used_at, v.last_used_ip
FROM owners o
LEFT JOIN secrets s ON s.owner = o.owner
LEFT JOIN secret_values v ON v.owner = s.owner AND v.secret_id = s.id
WHERE o.owner = $1
ORDER BY s.position, v.position`
	floorBumpSQLite   = `UPDATE owners SET version = version + 1, change_seq = (SELECT coalesce(max(change_seq), 0) + 1 FROM owners) WHERE owner = $1`
	floorBumpPostgres = `UPDATE owners SET version = version + 1, changed_xid = pg_current_xact_id() WHERE owner = $1`
	floorInsertSQLite = `INSERT INTO owners (owner, version, signing, change_seq) VALUES ($1, 1, $2, (SELECT coalesce(max(change_seq), 0) + 1 FROM owners))`
	floorInsertPG     = `INSERT INTO owners (owner, version, signing, changed_xid) VALUES ($1, 1, $2, pg_current_xact_id())`
	floorTouchKey     = `UPDATE secrets SET updated_at = $3 WHERE owner = $1 AND id = $2`
	floorInsertKey    = `INSERT INTO secrets (owner, id, position, name, format, custom, hmac, rate_limit, created_at, updated_at)
VALUES ($1, $2, 0, '', 'sk_live', false, true, 0, $3, $3)`
	floorInsertValue = `INSERT INTO secret_values (owner, secret_id, id, position, hint, digest, sealed_kek_id, sealed_ciphertext, created_at)
VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8)`
	floorDemoteValue = `UPDATE secret_values SET position = 1, expires_at = $3 WHERE owner = $1 AND id = $2`
	floorDeleteValue = `DELETE FROM secret_values WHERE owner = $1 AND id = $2`
)

// benchFloor runs op by hand on db.
func benchFloor(b *testing.B, db *sqlstoretest.DB, op string, writers int) {
	ctx := b.Context()
	clock := rotationtest.NewClock(t0)
	ring := secretstest.Keyring(b)
	// The schema, and for Regenerate the owner, made as rotor makes them.
	r, err := rotation.New(db.Open(b), &rotation.Options{Now: clock.Now, Keyring: ring})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	if op == "Regenerate" {
		ids = benchOwner(b, r, clock)
	}
	f := &floor{db: db.SQL(b), dialect: db.Dialect(), ring: ring, digest: secrets.NewDigester(secrets.Value{}), clock: clock}
	if f.dialect == sqlstore.SQLite {
		f.db.SetMaxOpenConns(1)
	} else {
		f.db.SetMaxOpenConns(16)
	}
	f.prepare(b)
	switch op {
	case "Regenerate":
		loopWriters(b, writers, func(i int) error {
			err := f.regenerate(ctx, "acme", ids[i%3])
			clock.Advance(time.Second)
			return err
		})
	case "Create":
		loopWriters(b, writers, func(i int) error { return f.create(ctx, fmt.Sprint("owner_", i)) })
	}
}

func (f *floor) prepare(b *testing.B) {
	read, bump, insert := floorRead, floorBumpSQLite, floorInsertSQLite
	if f.dialect == sqlstore.Postgres {
		bump, insert = floorBumpPostgres, floorInsertPG
	}
	for _, s := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&f.load, read}, {&f.bumpOwner, bump}, {&f.insertOwner, insert},
		{&f.touchKey, floorTouchKey}, {&f.insertKey, floorInsertKey},
		{&f.insertValue, floorInsertValue}, {&f.demoteValue, floorDemoteValue}, {&f.deleteValue, floorDeleteValue},
	} {
		stmt, err := f.db.PrepareContext(b.Context(), s.query)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { stmt.Close() })
		*s.stmt = stmt
	}
}

// floorValue is a row of the owner's keyset as the floor reads it.
type floorValue struct {
	key, id  string
	position int
}

// read reads the owner's keyset in tx and returns its version and its
// values, in order.
func (f *floor) read(ctx context.Context, tx *sql.Tx, owner string) (int64, []floorValue, error) {
	rows, err := tx.StmtContext(ctx, f.load).QueryContext(ctx, owner)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var version int64
	var values []floorValue
	cols := make([]any, 26)
	raw := make([]sql.RawBytes, 26)
	for i := range cols {
		cols[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(cols...); err != nil {
			return 0, nil, err
		}
		fmt.Sscan(string(raw[0]), &version)
		pos := 0
		if n := len(values); n > 0 && values[n-1].key == string(raw[2]) {
			pos = values[n-1].position + 1
		}
		values = append(values, floorValue{key: string(raw[2]), id: string(raw[17]), position: pos})
	}
	return version, values, rows.Err()
}

// newValue makes a sealed value, as a Rotator does.
func (f *floor) newValue() (id, hint string, digest []byte, sealed secrets.Sealed, err error) {
	v, err := secrets.Format("sk_live").Generate()
	if err != nil {
		return "", "", nil, sealed, err
	}
	id = "val_" + strings.ToLower(rand.Text())
	d := f.digest.DigestValue(v)
	sealed, err = f.ring.Seal(id, v)
	return id, v.Hint(), d[:], sealed, err
}

func (f *floor) regenerate(ctx context.Context, owner, key string) error {
	id, hint, digest, sealed, err := f.newValue()
	if err != nil {
		return err
	}
	now := f.clock.Now()
	return f.inTx(ctx, func(tx *sql.Tx) error {
		if err := f.exec(ctx, tx, f.bumpOwner, owner); err != nil {
			return err
		}
		_, values, err := f.read(ctx, tx, owner)
		if err != nil {
			return err
		}
		if err := f.exec(ctx, tx, f.touchKey, owner, key, now.UnixMicro()); err != nil {
			return err
		}
		for _, v := range values {
			switch {
			case v.key != key:
			case v.position == 0:
				err = f.exec(ctx, tx, f.demoteValue, owner, v.id, now.Add(time.Minute).UnixMicro())
			default:
				err = f.exec(ctx, tx, f.deleteValue, owner, v.id)
			}
			if err != nil {
				return err
			}
		}
		return f.exec(ctx, tx, f.insertValue, owner, key, id, hint, digest, sealed.KEKID, sealed.Ciphertext, now.UnixMicro())
	})
}

func (f *floor) create(ctx context.Context, owner string) error {
	id, hint, digest, sealed, err := f.newValue()
	if err != nil {
		return err
	}
	key := "sec_" + strings.ToLower(rand.Text())
	now := f.clock.Now().UnixMicro()
	return f.inTx(ctx, func(tx *sql.Tx) error {
		if err := f.exec(ctx, tx, f.insertOwner, owner, key); err != nil {
			return err
		}
		if _, _, err := f.read(ctx, tx, owner); err != nil {
			return err
		}
		if err := f.exec(ctx, tx, f.insertKey, owner, key, now); err != nil {
			return err
		}
		return f.exec(ctx, tx, f.insertValue, owner, key, id, hint, digest, sealed.KEKID, sealed.Ciphertext, now)
	})
}

// exec runs stmt in tx and fails unless it wrote one row.
func (f *floor) exec(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, args ...any) error {
	res, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("floor: wrote %d rows, want 1 (%v)", n, err)
	}
	return nil
}

func (f *floor) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
