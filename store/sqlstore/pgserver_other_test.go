//go:build !unix

package sqlstore_test

import "testing"

// startPostgres would start a PostgreSQL server of t's own; off Unix it
// skips t instead.
func startPostgres(t *testing.T, settings ...string) string {
	t.Skip("a PostgreSQL server of the test's own is started on Unix only")
	return ""
}
