// Package servicetest helps the examples' tests run a service as main
// runs it, over each database it can keep its secrets in.
package servicetest

import (
	"testing"

	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// EachDatabase runs test as the subtests SQLite and PostgreSQL, each
// given a getenv for service.Run that names its database: for SQLite
// none, so the service keeps a file under its -data directory; for
// PostgreSQL a schema of the subtest's own in ROTOR_POSTGRES_DSN, which
// skips without a server and fails under CI=true. Every other variable,
// such as ROTOR_KEK, is empty.
func EachDatabase(t *testing.T, test func(t *testing.T, getenv func(string) string)) {
	t.Helper()
	for _, db := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"SQLite", func(*testing.T) string { return "" }},
		{"PostgreSQL", func(t *testing.T) string { return sqlstoretest.Postgres(t).DSN() }},
	} {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.dsn(t)
			test(t, func(name string) string {
				if name == sqlstoretest.EnvDSN {
					return dsn
				}
				return ""
			})
		})
	}
}
