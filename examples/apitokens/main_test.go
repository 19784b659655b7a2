package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/examples/internal/servicetest"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// TestCommand runs the command as main does: -create-owner, then the
// server over the same data, which must find the organization's token.
func TestCommand(t *testing.T) {
	servicetest.EachDatabase(t, func(t *testing.T, getenv func(string) string) {
		is := is.New(t)
		// getenv sets no ROTOR_KEK: the service must need none
		data := t.TempDir()
		var out, logs secretstest.Logs
		err := service.Run(t.Context(), app, []string{"-data", data, "-create-owner", "o'brien & co"}, getenv, &out, &logs)
		is.NoErr(err) // the organization is created

		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		is.Equal(len(lines), 2)                       // owner=… and secret=…, nothing else
		is.Equal(lines[0], `owner='o'\''brien & co'`) // the name, quoted for the shell
		secret, ok := strings.CutPrefix(lines[1], "secret=")
		is.True(ok)                              // then the secret
		is.True(secretShape.MatchString(secret)) // of the token's shape
		if sh, err := exec.LookPath("sh"); err == nil {
			got, err := exec.Command(sh, "-c", `eval "$1"; printf '%s\n%s' "$owner" "$secret"`, "sh", out.String()).Output()
			is.NoErr(err)                                  // eval takes the output
			is.Equal(string(got), "o'brien & co\n"+secret) // and gives back both values
		}

		addr, stop := serve(t, getenv, data, &logs)
		r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, addr+"/api_tokens", nil)
		is.NoErr(err) // a request can be made
		r.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(r)
		is.NoErr(err) // the server answers
		var body struct {
			APITokens []token `json:"api_tokens"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		is.NoErr(err)                            // with JSON
		is.Equal(resp.StatusCode, http.StatusOK) // the first token works after a restart
		is.Equal(len(body.APITokens), 1)         // and is the organization's one token
		want := token{ID: body.APITokens[0].ID, OrganizationID: "o'brien & co",
			fields: fields{Name: "owner", AuthorizedIPAddresses: rotationhttp.Networks{}, Scopes: []string{"api_tokens"}}}
		if diff := cmp.Diff(want, body.APITokens[0], cmpopts.EquateEmpty(), cmp.AllowUnexported(token{})); diff != "" {
			t.Errorf("the first token (-want +got):\n%s", diff)
		}
		is.NoErr(stop()) // SIGTERM's way: the server stops cleanly

		is.True(strings.Contains(logs.String(), `route="GET /api_tokens"`)) // requests are logged by route
		secretstest.NoLeak(t, logs.String(), secret)                        // and never with a secret
		// SQLite keeps its database in a file under data.
		if getenv(sqlstoretest.EnvDSN) == "" {
			secretstest.NoLeak(t, filesUnder(t, data), secret) // the database keeps digests, never a secret
		}
	})
}

// serve starts the server on a free port over data, and returns its
// address and a function that stops it as SIGTERM does and returns what
// the command returned.
func serve(t *testing.T, getenv func(string) string, data string, logs io.Writer) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := service.Run(ctx, app, []string{"-data", data, "-addr", "127.0.0.1:0"}, getenv, pw, logs)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no listening line: %v; the command returned %v", err, <-done)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("stdout: %q, want listening on http://…", line)
	}
	return addr, func() error {
		cancel()
		return <-done
	}
}

// filesUnder returns the contents of every file under dir, as one text.
func filesUnder(t *testing.T, dir string) string {
	t.Helper()
	var all strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all.String()
}
