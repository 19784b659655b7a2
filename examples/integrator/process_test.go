package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// program runs the command as main does, with its flags and environment,
// on the real clock.
type program struct {
	t      *testing.T
	kek    string            // the file -kek names, outside -data
	args   []string          // -data and -kek
	env    map[string]string // ROTOR_POSTGRES_DSN, for PostgreSQL
	stderr *secretstest.Logs // every run's logs
}

// newProgram returns the command over db, with a data directory and a
// key-encryption key file of its own.
func newProgram(t *testing.T, db *sqlstoretest.DB) *program {
	dir := t.TempDir()
	kek := filepath.Join(dir, "integrator.kek")
	p := &program{
		t:      t,
		kek:    kek,
		args:   []string{"-data", filepath.Join(dir, "data"), "-kek", kek},
		env:    map[string]string{},
		stderr: &secretstest.Logs{},
	}
	if db.Dialect() == sqlstore.Postgres {
		p.env["ROTOR_POSTGRES_DSN"] = db.DSN()
	}
	return p
}

// run runs the command with args after -data and -kek, writing to stdout
// and to p.stderr.
func (p *program) run(ctx context.Context, stdout io.Writer, args ...string) error {
	return service.Run(ctx, app, append(append([]string{}, p.args...), args...), func(k string) string { return p.env[k] }, stdout, p.stderr)
}

// serve starts the server on a free port and returns its address and a
// function that stops it as SIGTERM does and returns how it ended.
func (p *program) serve() (string, func() error) {
	p.t.Helper()
	ctx, stop := context.WithCancel(p.t.Context())
	out, stdout := io.Pipe()
	ended := make(chan error, 1)
	go func() {
		err := p.run(ctx, stdout, "-addr", "127.0.0.1:0")
		stdout.Close()
		ended <- err
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		p.t.Fatalf("the server said no address: %v, %v", err, <-ended)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		p.t.Fatalf("the server's first line is %q, want listening on http://…", line)
	}
	go io.Copy(io.Discard, out) // nothing more is written; never block the server
	return addr, func() error { stop(); return <-ended }
}

// regenerate posts body to the server at addr, signed with secret as the
// README's curl does, and returns the status and the new secret.
func regenerate(t *testing.T, addr, owner, secret, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, addr+route, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	id, ts := hmacsign.NewMessageID(), strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id + "." + ts + "." + body))
	req.Header.Set("Integrator-Id", owner)
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var reply struct{ Secret string }
	_ = json.NewDecoder(res.Body).Decode(&reply) // empty for a problem
	return res.StatusCode, reply.Secret
}

func TestProgram(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) *sqlstoretest.DB) {
		is := is.New(t)
		p := newProgram(t, db(t))

		var out bytes.Buffer
		is.NoErr(p.run(t.Context(), &out, "-create-owner", "acme")) // -create-owner exits cleanly
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		is.Equal(len(lines), 2)                                                            // two shell assignments
		is.Equal(lines[0], "owner=acme")                                                   // the integrator
		is.True(regexp.MustCompile(`^secret=sk_live_[0-9A-Za-z]+$`).MatchString(lines[1])) // and its secret, which a shell takes as it is
		first := strings.TrimPrefix(lines[1], "secret=")
		kek, err := os.Stat(p.kek)
		is.NoErr(err)                                   // the key-encryption key is in the file -kek names
		is.Equal(kek.Mode().Perm(), os.FileMode(0o600)) // readable by this user only

		addr, stop := p.serve()
		status, second := regenerate(t, addr, "acme", first, "")
		is.Equal(status, http.StatusOK) // a signed request regenerates
		status, _ = regenerate(t, addr, "acme", first, "")
		is.Equal(status, http.StatusUnauthorized) // and the old secret died at once
		is.NoErr(stop())                          // SIGTERM ends it cleanly

		addr, stop = p.serve()
		status, third := regenerate(t, addr, "acme", second, `{"oldSecretValidForSeconds": 60}`)
		is.Equal(status, http.StatusOK) // a restart keeps the secret, and opens it with the same key
		is.NoErr(stop())                // and stops cleanly again

		logs := p.stderr.String()
		is.True(strings.Contains(logs, `route="POST /v1/integrator/regenerate-secret"`)) // requests are logged by route
		secretstest.NoLeak(t, logs, first, second, third)
	})
}

func TestProgramNeedsAKEK(t *testing.T) {
	is := is.New(t)
	p := newProgram(t, sqlstoretest.SQLite(t))
	p.args = p.args[:2] // -data only
	err := p.run(t.Context(), io.Discard, "-create-owner", "acme")
	is.True(err != nil)                                 // secrets that verify HMACs are sealed, so a key is needed
	is.True(strings.Contains(err.Error(), "ROTOR_KEK")) // and the error says how to give one
}
