// Package redistest gives rotor's tests Redis: keys of a test's own in
// the shared server that ROTOR_REDIS_URL names, and servers of a test's
// own that it may stop and start again.
//
// The shared server is for tests that need a Redis that works: [URL],
// [Client] and [Prefix], a random prefix under which a test keeps every
// key it makes, deleted when it ends. Nothing here flushes a database or
// touches a key outside a test's prefix, since other tests use the server
// at the same time. Without ROTOR_REDIS_URL those tests are skipped, so
// that a plain go test passes on a machine with no Redis, except when
// CI=true is set: continuous integration must not skip silently, so there
// they fail instead (as store/sqlstore/sqlstoretest does for PostgreSQL).
//
// A [Server] is for tests of what happens when Redis goes away: a
// redis-server of the test's own, on a free port of 127.0.0.1, that keeps
// nothing on disk, which the test stops and starts again on the same
// port. It needs the redis-server binary on PATH, and is skipped, or
// failed under CI=true, without it.
//
// The package is internal: it serves the tests of rotor's Redis packages
// and of the example services, which live in different trees.
package redistest

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvURL is the environment variable that names the shared Redis server,
// as a URL that redis.ParseURL reads, such as redis://127.0.0.1:6379/0.
const EnvURL = "ROTOR_REDIS_URL"

// URL returns the URL of the shared Redis server. Without ROTOR_REDIS_URL
// it skips tb, or fails it under CI=true.
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		unavailable(tb, EnvURL+" is not set")
	}
	return url
}

// unavailable skips tb for why, or fails it under CI=true, where every
// test must run.
func unavailable(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(why + "; under CI=true the Redis tests must run")
	}
	tb.Skip(why + "; skipping a Redis test")
}

// Client returns a client of the shared Redis server, closed when tb
// ends. Keep its keys under a [Prefix].
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseURL(URL(tb))
	if err != nil {
		tb.Fatal(EnvURL + " is not a Redis URL") // the error would quote it, password and all
	}
	return newClient(tb, opts)
}

func newClient(tb testing.TB, opts *redis.Options) *redis.Client {
	tb.Helper()
	c := redis.NewClient(opts)
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Error(err)
		}
	})
	return c
}

// Prefix returns a key prefix of tb's own, "rotor-test:" and random
// letters and digits, ending in ':'. When tb ends, every key under it is
// deleted through c, after the cleanups registered later.
func Prefix(tb testing.TB, c *redis.Client) string {
	tb.Helper()
	prefix := "rotor-test:" + rand.Text()[:16] + ":" // base32: no glob characters
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("redistest: listing the keys under the test's prefix: %v", err)
			return
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				tb.Errorf("redistest: deleting the keys under the test's prefix: %v", err)
			}
		}
	})
	return prefix
}

// Server is a redis-server of one test's own, on a port of 127.0.0.1
// that stays its own across [Server.Stop] and [Server.Start]. It keeps
// nothing on disk: a restarted server is empty, its script cache too. It
// is stopped when the test ends. Its methods must be called from the
// test's goroutine. Make one with [NewServer].
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	port int

	// Of the running process; cmd is nil while stopped.
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has exited
	log  *serverLog
}

// NewServer starts a redis-server on a free port of 127.0.0.1, in a
// directory of tb's, and returns once it accepts connections. It skips
// tb, or fails it under CI=true, if there is no redis-server on PATH.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(tb, "no redis-server on PATH")
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir()}
	tb.Cleanup(func() {
		if s.cmd != nil {
			s.Stop()
		}
	})
	// Another process may take the free port before the server binds it:
	// then try another.
	for attempt := 1; ; attempt++ {
		s.port = freePort(tb)
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 5 {
			tb.Fatalf("redistest: redis-server did not start: %v", err)
		}
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Addr returns the server's address, host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns the server's URL, for redis.ParseURL.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Client returns a new client of the server, closed when tb ends. It
// reconnects by itself when the server comes back after [Server.Stop].
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	return newClient(tb, &redis.Options{Addr: s.Addr()})
}

// Start starts the stopped server again, on the same port, and returns
// once it accepts connections.
func (s *Server) Start() {
	s.tb.Helper()
	if s.cmd != nil {
		s.tb.Fatal("redistest: Start of a server that runs")
	}
	if err := s.start(); err != nil {
		s.tb.Fatalf("redistest: redis-server did not start again: %v", err)
	}
}

// readyTimeout bounds how long a server may take to accept connections.
const readyTimeout = 30 * time.Second

func (s *Server) start() error {
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout // one pipe, read below
	if err := cmd.Start(); err != nil {
		return err
	}
	log := &serverLog{}
	ready := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			log.add(line)
			if !signalled && strings.Contains(line, "Ready to accept connections") {
				signalled = true
				close(ready)
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		<-read // Wait closes the pipe: read it all first
		_ = cmd.Wait()
		close(done)
	}()
	timeout := time.NewTimer(readyTimeout)
	defer timeout.Stop()
	select {
	case <-ready:
		s.cmd, s.done, s.log = cmd, done, log
		return nil
	case <-done:
		return fmt.Errorf("it exited: %s", log)
	case <-timeout.C:
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("it did not accept connections within %v: %s", readyTimeout, log)
	}
}

// Stop stops the server, as a crash or a restart would, and returns once
// it has exited; clients then fail to connect until [Server.Start].
func (s *Server) Stop() {
	s.tb.Helper()
	if s.cmd == nil {
		s.tb.Fatal("redistest: Stop of a server that is stopped")
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	timeout := time.NewTimer(readyTimeout)
	defer timeout.Stop()
	select {
	case <-s.done:
	case <-timeout.C:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// FlushScripts empties the server's script cache, as a restart or a failover
// does, so that EVALSHA answers NOSCRIPT. The server is the test's own:
// no other test's scripts are flushed.
func (s *Server) FlushScripts(ctx context.Context) error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	return c.ScriptFlush(ctx).Err()
}

// serverLog keeps the last lines a server wrote, for the error of a
// server that did not start. It is safe for concurrent use.
type serverLog struct {
	mu    sync.Mutex // guards lines
	lines []string
}

func (l *serverLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 20 {
		l.lines = l.lines[1:]
	}
	l.lines = append(l.lines, line)
}

func (l *serverLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return "(no output)"
	}
	return strings.Join(l.lines, "\n")
}
