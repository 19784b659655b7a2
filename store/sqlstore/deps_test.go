package sqlstore_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The modules of the two drivers, by the prefix of their packages' paths
// (each pulls in others of its own: modernc.org/libc, jackc/puddle, …).
const (
	sqliteModules = "modernc.org/"
	pgxModules    = "github.com/jackc/"
)

// TestDriversStayInTheirPackages checks, with go list, which packages of
// the module link which driver: package sqlite links SQLite and not pgx,
// package postgres pgx and not SQLite, and no other package of the library
// links either, so that a program links only the driver it opens and
// importing sqlstore registers no database/sql driver. The examples and
// sqlstoretest, which open both, are not checked.
func TestDriversStayInTheirPackages(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the go command is not on PATH; under CI=true this test must run")
		}
		t.Skip("the go command is not on PATH")
	}
	const module = "github.com/rotorkit/rotor"
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rules := map[string]struct{ with, without []string }{
		module + "/store/sqlstore/sqlite":   {with: []string{sqliteModules}, without: []string{pgxModules}},
		module + "/store/sqlstore/postgres": {with: []string{pgxModules}, without: []string{sqliteModules}},
	}
	listed := make(map[string]bool)
	for line := range strings.Lines(string(out)) {
		pkg, deps, _ := strings.Cut(strings.TrimSpace(line), " ")
		listed[pkg] = true
		if strings.HasPrefix(pkg, module+"/examples/") || pkg == module+"/store/sqlstore/sqlstoretest" {
			continue // they open both, by design
		}
		rule, ok := rules[pkg]
		if !ok {
			rule.without = []string{sqliteModules, pgxModules}
		}
		links := func(prefix string) bool {
			for _, d := range strings.Fields(deps) {
				if strings.HasPrefix(d, prefix) {
					return true
				}
			}
			return false
		}
		for _, p := range rule.with {
			if !links(p) {
				t.Errorf("%s does not link %s…, its driver", pkg, p)
			}
		}
		for _, p := range rule.without {
			if links(p) {
				t.Errorf("%s links %s…, a driver it must leave to the package that opens its database", pkg, p)
			}
		}
	}
	for _, pkg := range []string{module + "/store/sqlstore", module + "/store/sqlstore/sqlite", module + "/store/sqlstore/postgres"} {
		if !listed[pkg] {
			t.Errorf("go list did not list %s", pkg)
		}
	}
}
