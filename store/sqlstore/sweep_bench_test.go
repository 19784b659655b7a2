package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// The store BenchmarkSweep sweeps: sweepOwners owners of sweepKeys keys
// each, a million keys, of which sweepDue (one key of as many owners)
// expire within a reminder's lead; the rest never expire.
const (
	sweepOwners = 250_000
	sweepKeys   = 4
	sweepDue    = 100
)

// sweepNow is the benchmark's clock; the due keys expire 10 days later.
var sweepNow = time.Date(2026, time.December, 1, 12, 0, 0, 0, time.UTC)

// BenchmarkSweep measures one sweep of reminders over a million keys of
// which 100 are due: the Due query alone, and a whole [rotation.Rotator.Sweep]
// that lists the due owners, and reads, marks, saves and tells each. The
// rows are written by bulk SQL in the benchmark's own database (a SQLite
// file, a PostgreSQL schema), in a few seconds. Between sweeps, untimed,
// the due owners are made due again.
func BenchmarkSweep(b *testing.B) {
	for _, d := range []struct {
		name string
		db   func(testing.TB) *sqlstoretest.DB
		load []string // the statements that write the rows
	}{
		{"sqlite", sqlstoretest.SQLite, sqliteSweepRows},
		{"postgres", sqlstoretest.Postgres, pgSweepRows},
	} {
		b.Run(d.name, func(b *testing.B) {
			db := d.db(b)
			s := db.Open(b) // creates the schema
			raw := db.SQL(b)
			ctx := b.Context()
			start := time.Now()
			tx, err := raw.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer tx.Rollback()
			if db.Dialect() == sqlstore.Postgres {
				// The rows are consistent by construction: checking a
				// foreign key per row would triple the time they take.
				if _, err := tx.ExecContext(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
					b.Fatal(err)
				}
			}
			for _, q := range d.load {
				if _, err := tx.ExecContext(ctx, q, sweepOwners, sweepKeys, sweepDue, sweepNow.UnixMicro()); err != nil {
					b.Fatalf("loading the rows: %v", err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			if _, err := raw.ExecContext(ctx, "ANALYZE"); err != nil {
				b.Fatal(err)
			}
			b.Logf("%d keys written in %v", sweepOwners*sweepKeys, time.Since(start).Round(time.Second))
			rearm := func(b *testing.B) {
				for _, q := range rearmSweep {
					if _, err := raw.ExecContext(ctx, q, sweepNow.UnixMicro()); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.Run("due-query", func(b *testing.B) {
				rearm(b)
				b.ReportAllocs()
				for b.Loop() {
					owners, err := s.Due(ctx, sweepNow, 1000)
					if err != nil || len(owners) != sweepDue {
						b.Fatalf("Due: %d owners, %v; want %d", len(owners), err, sweepDue)
					}
				}
			})
			b.Run("sweep-100-due", func(b *testing.B) {
				benchSweep(b, s, rearm)
			})
		})
	}
}

func benchSweep(b *testing.B, s *sqlstore.Store, rearm func(*testing.B)) {
	clock := rotationtest.NewClock(sweepNow)
	sent := 0
	r, err := rotation.New(s, &rotation.Options{
		Now:      clock.Now,
		Observer: func(_ context.Context, e rotation.Event) { sent++ },
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		rearm(b)
		sent = 0
		b.StartTimer()
		if err := r.Sweep(b.Context()); err != nil {
			b.Fatal(err)
		}
		if sent != sweepDue {
			b.Fatalf("a sweep sent %d reminders, want %d", sent, sweepDue)
		}
	}
}

// rearmSweep makes the due owners (those whose keys expire) due again at
// $1, their reminders unsent.
var rearmSweep = []string{
	`UPDATE owners SET due_at = $1 WHERE owner IN (SELECT owner FROM secrets WHERE expires_at IS NOT NULL)`,
	`UPDATE secrets SET reminded_for = NULL, reminded_at = NULL WHERE expires_at > $1`,
}

// The bulk writes of BenchmarkSweep's rows: $1 owners of $2 keys, a value
// each, the first key of every ($1/$3)-th owner expiring 10 days after
// $4, whose owner is due at $4. Each statement takes the four arguments,
// whether or not it uses them all.
var (
	sqliteSweepRows = []string{
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1)
INSERT INTO owners (owner, version, change_seq, due_at)
SELECT printf('owner-%07d', i), 1, 0, CASE WHEN i % ($1 / $3) = 0 THEN $4 END FROM n
WHERE $2 IS NOT NULL`,
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1 * $2)
INSERT INTO secrets (owner, id, position, name, format, custom, hmac, rate_limit, created_at, updated_at, expires_at)
SELECT printf('owner-%07d', i / $2), printf('sec_%08d', i), i % $2, 'key', 'sk_live', 0, 0, 0, $4, $4,
	CASE WHEN i % $2 = 0 AND (i / $2) % ($1 / $3) = 0 THEN $4 + 10 * 86400000000 END
FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1 * $2)
INSERT INTO secret_values (owner, secret_id, id, position, hint, digest, sealed_kek_id, created_at)
SELECT printf('owner-%07d', i / $2), printf('sec_%08d', i), printf('val_%08d', i), 0, 'abcd', unhex(printf('%064x', i + 1)), '', $4
FROM n WHERE $3 IS NOT NULL`,
	}
	pgSweepRows = []string{
		`INSERT INTO owners (owner, version, due_at)
SELECT format('owner-%s', lpad(i::text, 7, '0')), 1, CASE WHEN i % ($1::int / $3::int) = 0 THEN $4::bigint END
FROM generate_series(0, $1::int - 1) i WHERE $2::int IS NOT NULL`,
		`INSERT INTO secrets (owner, id, position, name, format, custom, hmac, rate_limit, created_at, updated_at, expires_at)
SELECT format('owner-%s', lpad((i / $2::int)::text, 7, '0')), format('sec_%s', lpad(i::text, 8, '0')), i % $2::int,
	'key', 'sk_live', false, false, 0, $4::bigint, $4::bigint,
	CASE WHEN i % $2::int = 0 AND (i / $2::int) % ($1::int / $3::int) = 0 THEN $4::bigint + 10 * 86400000000 END
FROM generate_series(0, $1::int * $2::int - 1) i`,
		`INSERT INTO secret_values (owner, secret_id, id, position, hint, digest, sealed_kek_id, created_at)
SELECT format('owner-%s', lpad((i / $2::int)::text, 7, '0')), format('sec_%s', lpad(i::text, 8, '0')),
	format('val_%s', lpad(i::text, 8, '0')), 0, 'abcd', decode(lpad(to_hex(i + 1), 64, '0'), 'hex'), '', $4::bigint
FROM generate_series(0, $1::int * $2::int - 1) i WHERE $3::int IS NOT NULL AND $1::int IS NOT NULL`,
	}
)
