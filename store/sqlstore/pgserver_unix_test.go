//go:build unix

package sqlstore_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// startPostgres starts a PostgreSQL server of t's own, with settings
// (name=value) on its command line, and returns a connection string for
// it; the server is stopped, and its files removed, when t ends. It needs
// initdb and pg_ctl, from PATH or from Debian's /usr/lib/postgresql/*/bin.
// PostgreSQL refuses to run as root, so as root the server runs as the
// user postgres. When a server cannot be started t is skipped, saying
// why, or failed under CI=true.
func startPostgres(t *testing.T, settings ...string) string {
	t.Helper()
	cannot := func(why string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal("cannot start a PostgreSQL server of the test's own: " + why)
		}
		t.Skip("cannot start a PostgreSQL server of the test's own: " + why)
	}
	bin := postgresBin()
	if bin == "" {
		cannot("no initdb on PATH or in /usr/lib/postgresql/*/bin")
	}
	dir, err := os.MkdirTemp("", "rotor-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			cannot("running as root, which PostgreSQL refuses, with no user postgres to run it as")
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		if err := os.Chown(dir, int(uid), int(gid)); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	run := func(ctx context.Context, name string, args ...string) error {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", name, err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run(t.Context(), "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		cannot(err.Error())
	}
	// A port that was free a moment ago may be taken before the server
	// binds it: then try another.
	var errs []error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		opts := fmt.Sprintf("-c port=%d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off", port, dir)
		for _, s := range settings {
			opts += " -c " + s
		}
		err = run(t.Context(), "pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			t.Cleanup(func() {
				// t's context is done by now; the server must stop all the same.
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := run(ctx, "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
					t.Errorf("stopping the test's PostgreSQL server: %v", err)
				}
			})
			return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		}
		errs = append(errs, err)
	}
	cannot(fmt.Sprint(errs))
	return ""
}

// postgresBin returns the directory that holds initdb and pg_ctl, or ""
// if none is found: the one on PATH, or else the newest of Debian's.
func postgresBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	if len(dirs) == 0 {
		return ""
	}
	return filepath.Dir(dirs[0])
}

// versionOf returns the major version in /usr/lib/postgresql/V/bin/initdb.
func versionOf(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// freePort returns a TCP port of 127.0.0.1 that nothing listened on a
// moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
