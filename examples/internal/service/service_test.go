package service_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/scanning"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
)

// app is a service with one route, GET /whoami, for the key it is called
// with; its owners get one key, sealed when seal is set.
func app(seal bool) service.App {
	return service.App{
		Name: "testapp",
		Seal: seal,
		Handler: func(env service.Env) (http.Handler, error) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
				key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
				p, err := env.Rotator.Authenticate(r.Context(), key, rotation.Request{})
				if err != nil {
					http.Error(w, "no", http.StatusUnauthorized)
					return
				}
				io.WriteString(w, p.Owner)
			})
			return mux, nil
		},
		CreateOwner: func(ctx context.Context, env service.Env, name string) ([]string, error) {
			iss, err := env.Rotator.Create(ctx, name, rotation.Spec{Name: name, HMAC: seal})
			if err != nil {
				return nil, err
			}
			return []string{"owner=" + name, "secret=" + iss.Value.Reveal()}, nil
		},
	}
}

// env returns a getenv with only the variables given, so that a
// ROTOR_POSTGRES_DSN of the test's own environment does not reach Run.
func env(vars ...string) func(string) string {
	return func(name string) string {
		for i := 0; i+1 < len(vars); i += 2 {
			if vars[i] == name {
				return vars[i+1]
			}
		}
		return ""
	}
}

// Create an owner, serve, answer its key, stop on cancel, and find the
// owner again in the same data directory.
func TestRunCreatesServesAndStops(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	var stderr secretstest.Logs
	var out bytes.Buffer
	err := service.Run(t.Context(), app(false), []string{"-data", dir, "-create-owner", "acme"}, env(), &out, &stderr)
	is.NoErr(err) // -create-owner works
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	is.Equal(len(lines), 2)          // and prints two assignments
	is.Equal(lines[0], "owner=acme") // the owner
	key, ok := strings.CutPrefix(lines[1], "secret=")
	is.True(ok && key != "") // and the key, once

	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, app(false), []string{"-data", dir, "-addr", "127.0.0.1:0"}, env(), pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	is.NoErr(err) // the server says where it listens
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	is.True(ok) // on the line scripts read

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	is.NoErr(err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	is.Equal(resp.StatusCode, http.StatusOK) // the key made before the start works
	is.Equal(string(body), "acme")           // as its owner's

	cancel()
	is.NoErr(<-done)                                                    // a cancelled server stops without error
	is.True(strings.Contains(stderr.String(), "route=\"GET /whoami\"")) // it logged the request by its route
	is.True(!strings.Contains(stderr.String(), "level=WARN"))           // and stopped writing uses without a failure
	secretstest.NoLeak(t, stderr.String(), key)                         // and no key

	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "rotor.db"))
	is.NoErr(err)
	defer st.Close()
	ks, err := st.Load(t.Context(), "acme")
	is.NoErr(err)
	is.True(!ks.Keys[0].LastUsedAt.IsZero()) // the use made while it served was written before it stopped
}

func TestRunSealingNeedsAKEK(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	var out, stderr bytes.Buffer
	err := service.Run(t.Context(), app(true), []string{"-data", dir, "-create-owner", "acme"}, env(), &out, &stderr)
	is.True(err != nil && strings.Contains(err.Error(), "ROTOR_KEK")) // a service that seals refuses to start without a key
	is.Equal(out.Len(), 0)                                            // having made nothing

	kek := filepath.Join(t.TempDir(), "keys", "kek")
	err = service.Run(t.Context(), app(true), []string{"-data", dir, "-kek", kek, "-create-owner", "acme"}, env(), &out, &stderr)
	is.NoErr(err) // with -kek it makes the key
	info, err := os.Stat(kek)
	is.NoErr(err)
	is.Equal(info.Mode().Perm(), os.FileMode(0o600)) // readable by its owner only
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	for _, e := range entries {
		is.True(!strings.Contains(e.Name(), "kek")) // and nowhere near the database
	}

	text, err := os.ReadFile(kek)
	is.NoErr(err)
	out.Reset()
	err = service.Run(t.Context(), app(true), []string{"-data", dir, "-create-owner", "globex"}, env("ROTOR_KEK", string(text)), &out, &stderr)
	is.NoErr(err) // ROTOR_KEK gives the key itself
	err = service.Run(t.Context(), app(true), []string{"-data", dir, "-create-owner", "initech"}, env("ROTOR_KEK", "not base64"), &out, &stderr)
	is.True(err != nil && !strings.Contains(err.Error(), "not base64")) // a bad key is refused without repeating it
}

func TestRunRefusesBadFlags(t *testing.T) {
	is := is.New(t)
	var out, stderr bytes.Buffer
	err := service.Run(t.Context(), app(false), []string{"-nosuchflag"}, env(), &out, &stderr)
	is.True(err != nil && !errors.Is(err, context.Canceled)) // an unknown flag is refused
	err = service.Run(t.Context(), app(false), []string{"extra"}, env(), &out, &stderr)
	is.True(err != nil) // and so is an argument
	err = service.Run(t.Context(), app(false), []string{"-kek", filepath.Join(t.TempDir(), "kek")}, env(), &out, &stderr)
	is.True(err != nil)                                // and -kek, for a service that seals nothing
	is.True(strings.Contains(stderr.String(), "-kek")) // which is said
	is.Equal(out.Len(), 0)                             // with nothing on stdout
}

func TestCheckName(t *testing.T) {
	is := is.New(t)
	for _, ok := range []string{"acme", "a", "Acme-2.eu_west", strings.Repeat("x", 64)} {
		is.NoErr(service.CheckName("an account", ok)) // letters, digits, '.', '_' and '-'
	}
	for _, bad := range []string{"", "-acme", ".acme", "acme/live", "o'brien", "acme corp", "ä", strings.Repeat("x", 65)} {
		err := service.CheckName("an account", bad)
		is.True(err != nil)                                                   // anything else is refused
		is.True(strings.HasPrefix(err.Error(), "an account name is 1 to 64")) // saying what a name may be
	}
}

// -scanning-keys is a flag only of services that take leak reports, and a
// file that is not GitHub's key list stops the service before it serves.
func TestRunScanningKeys(t *testing.T) {
	is := is.New(t)
	var out, stderr bytes.Buffer
	file := filepath.Join(t.TempDir(), "keys.json")
	is.NoErr(os.WriteFile(file, []byte(`{"public_keys": []}`), 0o600))
	err := service.Run(t.Context(), app(false), []string{"-data", t.TempDir(), "-scanning-keys", file}, env(), &out, &stderr)
	is.True(err != nil)                                          // refused by a service that takes no reports
	is.True(strings.Contains(stderr.String(), "-scanning-keys")) // which is said

	scans := app(false)
	scans.Scanning = true
	err = service.Run(t.Context(), scans, []string{"-data", t.TempDir(), "-scanning-keys", file}, env(), &out, &stderr)
	is.True(errors.Is(err, scanning.ErrInvalidKeys))         // a list with no keys is refused
	is.True(strings.Contains(err.Error(), "-scanning-keys")) // naming the flag
	err = service.Run(t.Context(), scans, []string{"-data", t.TempDir(), "-scanning-keys", file + ".missing"}, env(), &out, &stderr)
	is.True(errors.Is(err, fs.ErrNotExist)) // and so is a file that is not there
	is.Equal(out.Len(), 0)                  // before anything listens
}
