package redistest_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// linksRedis are the packages of the module that may link the Redis
// client: those that keep counters in Redis, and the programs that use
// them. Every other package, and so every program that uses none of
// these, must build without it.
var linksRedis = []string{
	"github.com/rotorkit/rotor/examples/apikeys",
	"github.com/rotorkit/rotor/examples/apitokens",
	"github.com/rotorkit/rotor/examples/integrator",
	"github.com/rotorkit/rotor/examples/internal/redisenv",
	"github.com/rotorkit/rotor/hmacsign/redisreplay",
	"github.com/rotorkit/rotor/internal/redistest",
	"github.com/rotorkit/rotor/rotation/ratelimit/redislimit",
}

// TestOnlyRedisPackagesLinkRedis checks, with go list, that no package
// but those of linksRedis depends on github.com/redis/go-redis: not
// rotationhttp, hmacsign or ratelimit, whose users may never run Redis,
// and not the example programs that share no counters.
func TestOnlyRedisPackagesLinkRedis(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no go command on PATH")
		}
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goTool, "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/rotorkit/rotor/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var listed []string
	for line := range strings.Lines(string(out)) {
		pkg, deps, _ := strings.Cut(strings.TrimSpace(line), " ")
		listed = append(listed, pkg)
		links := slices.ContainsFunc(strings.Fields(deps), func(d string) bool {
			return strings.HasPrefix(d, "github.com/redis/go-redis/")
		})
		if want := slices.Contains(linksRedis, pkg); links != want {
			t.Errorf("%s links the Redis client: %v, want %v", pkg, links, want)
		}
	}
	for _, pkg := range append(linksRedis, "github.com/rotorkit/rotor/rotation/rotationhttp", "github.com/rotorkit/rotor/examples/portal") {
		if !slices.Contains(listed, pkg) {
			t.Errorf("go list did not list %s; want the whole module", pkg)
		}
	}
}
