// Package scanningtest stands for GitHub in the examples' tests: it makes
// a P-256 key, writes its public half to a file in the JSON GitHub
// publishes (what -scanning-keys reads), and signs secret scanning
// reports with it. It also starts a service as its command does, so that
// a test can post to it over HTTP.
//
// It is test support, not part of rotor.
package scanningtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation/scanning"
)

// GitHub signs reports with a key made for one test.
type GitHub struct {
	// ID is the key's identifier, sent in Github-Public-Key-Identifier.
	ID  string
	key *ecdsa.PrivateKey
}

// New returns a GitHub with a new key named id.
func New(t testing.TB, id string) *GitHub {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &GitHub{ID: id, key: key}
}

// KeysFile writes g's public key to a file in the test's temporary
// directory, as GitHub publishes its keys, and returns its path.
func (g *GitHub) KeysFile(t testing.TB) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&g.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	list := map[string]any{"public_keys": []map[string]any{{
		"key_identifier": g.ID,
		"key":            string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		"is_current":     true,
	}}}
	data, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "secret_scanning.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Sign returns the Github-Public-Key-Signature of body.
func (g *GitHub) Sign(t testing.TB, body []byte) string {
	t.Helper()
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, g.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// Report returns the body of a report of tokens found in public, each of
// type typ.
func Report(t testing.TB, typ string, tokens ...string) []byte {
	t.Helper()
	type match struct {
		Token  string `json:"token"`
		Type   string `json:"type"`
		URL    string `json:"url"`
		Source string `json:"source"`
	}
	var matches []match
	for _, tok := range tokens {
		matches = append(matches, match{tok, typ, "https://github.com/octo/app/blob/1a2b/.env", "content"})
	}
	b, err := json.Marshal(matches)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Post sends body to the service at addr's report route, with the
// identifier of g and signature sig, and returns the status and the
// feedback labels of the reply (none unless the status is 200).
func (g *GitHub) Post(t testing.TB, addr string, body []byte, sig string) (status int, labels []string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, addr+service.ScanningRoute, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(scanning.HeaderKeyID, g.ID)
	req.Header.Set(scanning.HeaderSignature, sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	var feedback []scanning.Feedback
	if err := json.NewDecoder(resp.Body).Decode(&feedback); err != nil {
		t.Fatalf("the reply is not the feedback list: %v", err)
	}
	for _, f := range feedback {
		labels = append(labels, f.Label)
	}
	return resp.StatusCode, labels
}

// Serve runs app as its command does, with args and -addr 127.0.0.1:0,
// until the test ends or stop is called, and returns the address it
// listens on and stop, which returns what the command returned.
func Serve(t testing.TB, app service.App, args []string, getenv func(string) string, logs io.Writer) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := service.Run(ctx, app, append(args, "-addr", "127.0.0.1:0"), getenv, pw, logs)
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
		cancel()
		t.Fatalf("stdout: %q, want listening on http://…", line)
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return addr, stop
}
