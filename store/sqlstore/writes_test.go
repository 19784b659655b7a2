package sqlstore_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// forEachDB runs test once per dialect, as the subtests sqlite and
// postgres, with a new database of that dialect.
func forEachDB(t *testing.T, test func(t *testing.T, db *sqlstoretest.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { test(t, sqlstoretest.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { test(t, sqlstoretest.Postgres(t)) })
}

// countUpdates makes the database count the rows UPDATE statements
// change in secrets and in secret_values, and returns a function that
// reads the counts and starts them again from zero. An upsert that
// updates a row counts; one that leaves it alone does not.
func countUpdates(t *testing.T, db *sqlstoretest.DB) func() (keys, values int) {
	t.Helper()
	raw := db.SQL(t)
	ctx := t.Context()
	stmts := []string{`CREATE TABLE row_updates (tbl TEXT NOT NULL)`}
	if db.Dialect() == sqlstore.Postgres {
		stmts = append(stmts,
			`CREATE FUNCTION count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO row_updates VALUES (TG_TABLE_NAME); RETURN NULL; END $$`,
			`CREATE TRIGGER count_keys AFTER UPDATE ON secrets FOR EACH ROW EXECUTE FUNCTION count_update()`,
			`CREATE TRIGGER count_values AFTER UPDATE ON secret_values FOR EACH ROW EXECUTE FUNCTION count_update()`)
	} else {
		stmts = append(stmts,
			`CREATE TRIGGER count_keys AFTER UPDATE ON secrets BEGIN INSERT INTO row_updates VALUES ('secrets'); END`,
			`CREATE TRIGGER count_values AFTER UPDATE ON secret_values BEGIN INSERT INTO row_updates VALUES ('secret_values'); END`)
	}
	for _, q := range stmts {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return func() (keys, values int) {
		t.Helper()
		err := raw.QueryRowContext(ctx, `SELECT
	(SELECT count(*) FROM row_updates WHERE tbl = 'secrets'),
	(SELECT count(*) FROM row_updates WHERE tbl = 'secret_values')`).Scan(&keys, &values)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `DELETE FROM row_updates`); err != nil {
			t.Fatal(err)
		}
		return keys, values
	}
}

// A save rewrites the rows that changed and leaves the others alone, so
// that its cost follows the change, not the size of the keyset.
func TestSaveRewritesOnlyChangedRows(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqlstoretest.DB) {
		is := is.New(t)
		ctx := t.Context()
		s := db.Open(t)
		ks := store.Keyset{Owner: "acme"}
		for _, id := range []string{"a", "b", "c"} {
			r := testRecord(id)
			r.Scopes, r.Metadata = []string{"read", "write"}, map[string]string{"team": "payments"}
			old := testRecord(id + "-old").Current
			old.ExpiresAt = base.Add(time.Hour)
			r.Previous = []store.Value{old}
			ks.Keys = append(ks.Keys, r)
		}
		is.NoErr(s.Save(ctx, ks)) // three keys of two values each
		updates := countUpdates(t, db)

		ks, err := s.Load(ctx, "acme")
		is.NoErr(err)
		is.NoErr(s.Save(ctx, ks)) // saved again as loaded
		keys, values := updates()
		is.Equal(keys, 0)   // no key's row is rewritten
		is.Equal(values, 0) // nor any value's

		ks.Version++
		ks.Keys[1].Name = "renamed"
		is.NoErr(s.Save(ctx, ks)) // one key renamed
		keys, values = updates()
		is.Equal(keys, 1)   // rewrites its row only
		is.Equal(values, 0) // and no value's

		ks.Version++
		r := &ks.Keys[2] // regenerated: its current value goes into grace, its previous one goes
		old := r.Current
		old.ExpiresAt = base.Add(2 * time.Hour)
		r.Previous = []store.Value{old}
		r.Current = testRecord("c-new").Current
		r.UpdatedAt = base.Add(time.Minute)
		is.NoErr(s.Save(ctx, ks))
		keys, values = updates()
		is.Equal(keys, 1)   // rewrites the key's row
		is.Equal(values, 1) // and the value now in grace; the new one is inserted, the old one removed
		got, err := s.Load(ctx, "acme")
		is.NoErr(err)
		if d := cmp.Diff(ks.Keys, got.Keys, cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Addr{})); d != "" {
			t.Errorf("keys after the saves (-want +got):\n%s", d)
		}
	})
}

// A batch of uses larger than one statement takes on SQLite is recorded
// whole: each key and value gets its latest use, also when the uses of
// one key fall into different statements.
func TestRecordUsesLargeBatch(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqlstoretest.DB) {
		is := is.New(t)
		ctx := t.Context()
		s := db.Open(t)
		const owners, perOwner = 3, 900 // 2,700 keys: more than two statements' worth on SQLite
		ip := netip.MustParseAddr("192.0.2.7")
		var uses []store.Use
		for i := range owners {
			ks := store.Keyset{Owner: fmt.Sprint("owner-", i)}
			for j := range perOwner {
				r := testRecord(fmt.Sprintf("k%d-%03d", i, j))
				old := testRecord(r.ID + "-old").Current
				old.ExpiresAt = base.Add(time.Hour)
				r.Previous = []store.Value{old}
				ks.Keys = append(ks.Keys, r)
				at := base.Add(time.Duration(i*perOwner+j+1) * time.Second)
				// The previous value was used later, so its use is the
				// key's, whichever statement each falls into.
				uses = append(uses,
					store.Use{Owner: ks.Owner, KeyID: r.ID, ValueID: r.Current.ID, At: at, IP: ip},
					store.Use{Owner: ks.Owner, KeyID: r.ID, ValueID: old.ID, At: at.Add(time.Millisecond)},
					store.Use{Owner: ks.Owner, KeyID: r.ID, ValueID: "gone", At: at.Add(time.Hour), IP: ip},
				)
			}
			is.NoErr(s.Save(ctx, ks))
		}
		uses = append(uses, store.Use{Owner: "owner-0", KeyID: "k0-000\xff", ValueID: "k0-000.v0", At: base.Add(48 * time.Hour)})
		is.NoErr(s.RecordUses(ctx, uses)) // a use naming text no key can have is ignored with the rest that name nothing

		for i := range owners {
			ks, err := s.Load(ctx, fmt.Sprint("owner-", i))
			is.NoErr(err)
			is.Equal(ks.Version, int64(1)) // uses change no version
			for j, r := range ks.Keys {
				at := base.Add(time.Duration(i*perOwner+j+1) * time.Second)
				if !r.Current.LastUsedAt.Equal(at) || r.Current.LastUsedIP != ip ||
					!r.Previous[0].LastUsedAt.Equal(at.Add(time.Millisecond)) || r.Previous[0].LastUsedIP.IsValid() ||
					!r.LastUsedAt.Equal(at.Add(time.Millisecond)) || r.LastUsedIP.IsValid() {
					t.Fatalf("key %s: used %v from %v, current %v from %v, previous %v from %v; want the uses at %v",
						r.ID, r.LastUsedAt, r.LastUsedIP, r.Current.LastUsedAt, r.Current.LastUsedIP,
						r.Previous[0].LastUsedAt, r.Previous[0].LastUsedIP, at)
				}
			}
		}
	})
}
