package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// TestCreateOwnerCommand runs the command as main does, with
// -create-owner, on SQLite and on PostgreSQL, and then the service over
// the same database, as after a restart.
func TestCreateOwnerCommand(t *testing.T) {
	for _, c := range []struct {
		name string
		// open returns the DSN the command is given, and a store over the
		// database it will have written to dir.
		open func(t *testing.T, dir string) (dsn string, reopen func() *sqlstore.Store)
	}{
		{"SQLite", func(t *testing.T, dir string) (string, func() *sqlstore.Store) {
			return "", func() *sqlstore.Store {
				st, err := sqlite.Open(t.Context(), filepath.Join(dir, "rotor.db"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
		}},
		{"PostgreSQL", func(t *testing.T, _ string) (string, func() *sqlstore.Store) {
			db := sqlstoretest.Postgres(t)
			return db.DSN(), func() *sqlstore.Store { return db.Open(t) }
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			dir := t.TempDir()
			dsn, reopen := c.open(t, dir)
			getenv := func(name string) string {
				if name == sqlstoretest.EnvDSN {
					return dsn
				}
				return ""
			}
			var stdout, stderr bytes.Buffer
			err := service.Run(t.Context(), app, []string{"-data", dir, "-create-owner", "acme"}, getenv, &stdout, &stderr)
			is.NoErr(err) // the account is created
			shape := regexp.MustCompile(`\Aowner=acme\nsecret=(sk_live_[0-9A-Za-z]{49})\ntest_secret=(sk_test_[0-9A-Za-z]{49})\n\z`)
			m := shape.FindStringSubmatch(stdout.String())
			if m == nil {
				t.Fatalf("stdout does not have the shape %s", shape) // not quoted: it holds keys
			}
			live, test := m[1], m[2]
			secretstest.NoLeak(t, stderr.String(), live, test)

			h := newHarness(t, reopen()) // the service restarted over the same database
			h.remember(live, test)
			for _, key := range []string{live, test} {
				ks := h.do(t, "GET", "/v1/api-keys", key, "").keys(t)
				is.Equal(len(ks), 2)                                                                                        // the command's key and the harness's own, of the same account, are listed
				is.Equal(ks[0].Name, "owner key")                                                                           // the command's key comes first
				is.Equal(ks[0].AccountID, "acme")                                                                           // of the account named
				is.Equal(ks[0].Permissions, map[string][]string{"account:api:key": {"create", "read", "update", "delete"}}) // with every permission
				is.Equal(ks[0].Type, "SECRET")                                                                              // a secret key
			}
			liveIDs, testIDs := h.ids(t, live), h.ids(t, test)
			is.True(!slices.Contains(liveIDs, testIDs[0])) // the two keys are in different environments

			err = service.Run(t.Context(), app, []string{"-data", dir, "-create-owner", "acme/live"}, getenv, &stdout, &stderr)
			is.True(err != nil) // an account name that could not be an owner's part is refused
		})
	}
}
