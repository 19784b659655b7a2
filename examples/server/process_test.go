package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// TestRestart runs the real program: it builds the binary, creates an
// owner with -create-owner, starts the server, regenerates the owner's
// secret with no grace window over HTTP, stops the server with SIGTERM,
// checks that the new key's last use reached the database on the way
// out, starts the server again on the same data directory, and checks
// that the new secret works and the old one does not, and that the secret
// kept its id throughout. No log line may hold either key or the
// key-encryption key.
func TestRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("stops the server with SIGTERM")
	}
	is := is.New(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	goTool, err := exec.LookPath("go")
	is.NoErr(err) // the go command, to build the binary
	out, err := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".").CombinedOutput()
	is.NoErr(err) // the binary builds
	is.Equal(string(out), "")

	data := filepath.Join(dir, "data")
	env := environ()
	create := exec.CommandContext(t.Context(), bin, "-data", data, "-create-owner", "acme")
	create.Env = env
	var createErr bytes.Buffer
	create.Stderr = &createErr
	out, err = create.Output()
	is.NoErr(err) // -create-owner succeeds
	vars := parseVars(string(out))
	owner, oldKey := vars["owner"], vars["secret"]
	is.True(strings.HasPrefix(owner, "own_"))      // the owner's id
	is.True(strings.HasPrefix(oldKey, "sk_live_")) // and its first key, shown once
	logs := createErr.String()
	_, after, found := strings.Cut(logs, "with secret ")
	is.True(found)                         // -create-owner names the secret on stderr
	id, _, _ := strings.Cut(after, " ")    // by its id
	is.True(strings.HasPrefix(id, "sec_")) // which is not secret
	kek, err := os.ReadFile(filepath.Join(data, "kek"))
	is.NoErr(err) // the key-encryption key was made on first start

	first := startServer(t, bin, data, env)
	is.Equal(first.get(t, oldKey), http.StatusOK) // the first key works
	status, reply := first.post(t, regenerateOwn, oldKey, `{"oldSecretValidForSeconds": 0}`)
	is.Equal(status, http.StatusOK) // the secret is regenerated
	var regenerated map[string]string
	is.NoErr(json.Unmarshal(reply, &regenerated)) // the reply is JSON
	newKey := regenerated["secret"]
	is.True(strings.HasPrefix(newKey, "sk_live_"))                          // the new key is in it
	is.Equal(len(regenerated), 1)                                           // and no oldSecretExpiresAt, with no window
	is.Equal(first.get(t, oldKey), http.StatusUnauthorized)                 // with no grace window the old key dies at once
	is.Equal(first.get(t, newKey), http.StatusOK)                           // the new one works
	is.Equal(first.stop(t), 0)                                              // SIGTERM is a graceful exit
	is.True(strings.Contains(first.stderr.String(), `msg="shutting down"`)) // and says so

	// The Rotator batches last uses in memory; the server flushes them on
	// the way out, so the new key's use is in the database now.
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(data, "rotor.db"))
	is.NoErr(err) // the database the server used
	ks, err := st.Load(t.Context(), owner)
	is.NoErr(err)             // the owner is in it
	is.NoErr(st.Close())      // closed before the server opens it again
	is.Equal(len(ks.Keys), 1) // one secret, regenerated in place
	rec := ks.Keys[0]
	is.Equal(rec.ID, id)                     // under the id it was created with
	is.Equal(rec.Current.Hint, hint(newKey)) // whose current value is the new key
	is.Equal(len(rec.Previous), 0)           // and which keeps no old value, with no window
	// The new value was used only after the regeneration, so a use of
	// it in the database was written by the flush on shutdown.
	is.True(!rec.Current.LastUsedAt.IsZero())                        // the new value's last use was written on shutdown
	is.True(!rec.Current.LastUsedAt.Before(rec.Current.CreatedAt))   // after the value was made
	is.Equal(rec.Current.LastUsedIP, netip.MustParseAddr(localhost)) // with where it came from
	is.True(!rec.LastUsedAt.Before(rec.Current.LastUsedAt))          // and the secret's last use is at least as late

	second := startServer(t, bin, data, env)
	is.Equal(second.get(t, newKey), http.StatusOK)           // after the restart the new key still works
	is.Equal(second.get(t, oldKey), http.StatusUnauthorized) // and the old one still does not
	is.Equal(second.stop(t), 0)

	logs += first.stderr.String() + second.stderr.String()
	secretstest.NoLeak(t, logs, oldKey, newKey, strings.TrimSpace(string(kek))) // neither key, nor the key-encryption key
}

// process is the server binary running with its stdout and stderr
// captured.
type process struct {
	cmd    *exec.Cmd
	url    string
	http   *http.Client
	stderr bytes.Buffer  // read only after the process exits
	done   chan struct{} // closed when stdout is drained
}

// startServer starts the binary on a free port and waits until it says
// where it listens: no sleeping, and the deadline only bounds a failure.
func startServer(t *testing.T, bin, data string, env []string) *process {
	t.Helper()
	is := is.New(t)
	p := &process{done: make(chan struct{}), http: &http.Client{Timeout: 10 * time.Second}}
	// CommandContext kills the process if the test ends without stopping it.
	p.cmd = exec.CommandContext(t.Context(), bin, "-data", data, "-addr", "127.0.0.1:0")
	p.cmd.Env = env
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	is.NoErr(err)
	is.NoErr(p.cmd.Start()) // the server starts

	addr := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- url
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case p.url = <-addr:
	case <-p.done:
		_ = p.cmd.Wait()
		t.Fatalf("the server exited before listening:\n%s", p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not say where it listens within 30 s")
	}
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	is.New(t).NoErr(p.cmd.Process.Signal(syscall.SIGTERM)) // the signal is sent
	<-p.done
	_ = p.cmd.Wait() // an exit code other than 0 is the answer, not a failure here
	return p.cmd.ProcessState.ExitCode()
}

func (p *process) get(t *testing.T, key string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.url+"/v1/secrets", nil)
	is.New(t).NoErr(err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := p.http.Do(req)
	is.New(t).NoErr(err) // the server answers
	res.Body.Close()
	return res.StatusCode
}

func (p *process) post(t *testing.T, path, key, body string) (int, []byte) {
	t.Helper()
	is := is.New(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.url+path, strings.NewReader(body))
	is.NoErr(err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := p.http.Do(req)
	is.NoErr(err) // the server answers
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	is.NoErr(err) // the whole reply is read
	return res.StatusCode, b
}

// parseVars reads name=value lines, as -create-owner prints them.
func parseVars(s string) map[string]string {
	vars := make(map[string]string)
	for line := range strings.Lines(s) {
		if name, value, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			vars[name] = value
		}
	}
	return vars
}

// environ is this process's environment without the variables that
// would point the server elsewhere: it must use SQLite and its own KEK.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, sqlstoretest.EnvDSN+"=") && !strings.HasPrefix(kv, "ROTOR_KEK=") {
			env = append(env, kv)
		}
	}
	return env
}
