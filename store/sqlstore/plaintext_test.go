package sqlstore_test

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/postgres"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// plainSecret is a secret value saved the way package rotation saves one:
// as a digest, a hint and a value sealed by a keyring.
type plainSecret struct {
	value  secrets.Value
	record store.Record
}

// saveSealedSecrets saves, updates and records uses of secrets of three
// formats whose values a real keyring sealed, and returns them.
func saveSealedSecrets(t *testing.T, s *sqlstore.Store) []plainSecret {
	t.Helper()
	ctx := t.Context()
	ring := secretstest.Keyring(t)
	var digester secrets.Digester
	var out []plainSecret
	ks := store.Keyset{Owner: "acme"}
	for i, f := range []secrets.Format{"sk_live", "pk_test", secrets.Webhook} {
		v, err := f.Generate()
		if err != nil {
			t.Fatal(err)
		}
		id := "sec_" + f.String()
		sealed, err := ring.Seal(id+".v0", v)
		if err != nil {
			t.Fatal(err)
		}
		rec := store.Record{
			ID: id,
			Attributes: store.Attributes{
				Name:     "canary name " + id,
				Format:   f,
				HMAC:     true,
				Scopes:   []string{"read"},
				Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
				Metadata: map[string]string{"team": "payments"},
			},
			CreatedAt: base.Add(time.Duration(i) * time.Minute),
			Current: store.Value{
				ID:     id + ".v0",
				Hint:   v.Hint(),
				Digest: digester.DigestValue(v),
				Sealed: sealed,
			},
		}
		if i == 0 {
			ks.Signing = id
		}
		ks.Keys = append(ks.Keys, rec)
		out = append(out, plainSecret{value: v, record: rec})
	}
	if err := s.Save(ctx, ks); err != nil {
		t.Fatal(err)
	}
	// A second version and a recorded use write every row again.
	ks.Version = 1
	ks.Keys[1].Name += " renamed"
	if err := s.Save(ctx, ks); err != nil {
		t.Fatal(err)
	}
	err := s.RecordUses(ctx, []store.Use{{Owner: "acme", KeyID: ks.Keys[0].ID, ValueID: ks.Keys[0].Current.ID, At: base.Add(time.Hour), IP: netip.MustParseAddr("203.0.113.9")}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// needles returns the forms in which a value could show up at rest: as
// is, without its prefix, its HMAC key's raw bytes, and their hex and
// base64. Hex is lower case, as PostgreSQL writes bytea; the search
// ignores case anyway.
func needles(t *testing.T, v secrets.Value) map[string][]byte {
	t.Helper()
	plain := v.Reveal()
	body := plain[strings.LastIndexByte(plain, '_')+1:]
	key, err := secrets.HMACKey(v)
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(key.Reveal())
	return map[string][]byte{
		"value":                 []byte(plain),
		"body":                  []byte(body),
		"hmac key":              raw,
		"hex of value":          []byte(hex.EncodeToString([]byte(plain))),
		"hex of hmac key":       []byte(hex.EncodeToString(raw)),
		"base64 of value":       []byte(base64.StdEncoding.EncodeToString([]byte(plain))),
		"base64url of value":    []byte(base64.RawURLEncoding.EncodeToString([]byte(plain))),
		"base64 of hmac key":    []byte(base64.StdEncoding.EncodeToString(raw)),
		"base64url of hmac key": []byte(base64.RawURLEncoding.EncodeToString(raw)),
	}
}

// checkNoPlaintext fails the test if dump holds any form of a secret's
// value, and, so that a dump the search cannot read does not pass, unless
// it holds every digest in the encoding given.
func checkNoPlaintext(t *testing.T, where string, dump []byte, saved []plainSecret, digestAs func(secrets.Digest) []byte) {
	t.Helper()
	lower := asciiLower(dump)
	for _, p := range saved {
		d := p.record.Current.Digest
		if !bytes.Contains(lower, asciiLower(digestAs(d))) {
			t.Errorf("%s: no digest of %s found; the search reads the wrong bytes", where, p.record.ID)
		}
		for form, n := range needles(t, p.value) {
			if bytes.Contains(dump, n) || bytes.Contains(lower, asciiLower(n)) {
				// Never print the needle: it is the secret.
				t.Errorf("%s: found the %s of secret %s", where, form, p.record.ID)
			}
		}
	}
}

// asciiLower returns a copy of b with A-Z made lower case and every other
// byte as it was; [bytes.ToLower] would rewrite bytes that are not UTF-8.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func TestNoPlaintextAtRest(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		s, err := sqlite.Open(t.Context(), filepath.Join(dir, "rotor.db"))
		if err != nil {
			t.Fatal(err)
		}
		saved := saveSealedSecrets(t, s)
		// Closing the last connection checkpoints the write-ahead log;
		// every file left in the directory is read all the same.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		var dump []byte
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			dump = append(dump, b...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		checkNoPlaintext(t, "the database files", dump, saved, func(d secrets.Digest) []byte { return d[:] })
	})

	t.Run("postgres", func(t *testing.T) {
		db := sqlstoretest.Postgres(t)
		s, err := postgres.Open(t.Context(), db.DSN())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		saved := saveSealedSecrets(t, s)
		dump := dumpSchema(t, db.SQL(t))
		checkNoPlaintext(t, "the rows of the schema", dump, saved, func(d secrets.Digest) []byte {
			return []byte(`\x` + hex.EncodeToString(d[:])) // bytea as text
		})
	})
}

// dumpSchema returns every row of every table of the current schema, each
// as PostgreSQL writes a whole row as text.
func dumpSchema(t *testing.T, db *sql.DB) []byte {
	t.Helper()
	ctx := t.Context()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 4 {
		t.Fatalf("found tables %q; want owners, secrets, secret_values and rotor_migrations", tables)
	}
	var dump bytes.Buffer
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT t::text FROM "`+table+`" t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			dump.WriteString(table + ": " + row + "\n")
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Fatal(err)
		}
	}
	return dump.Bytes()
}
