package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// start is where every test's clock stands at first.
var start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// backends are the stores the service runs on.
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"SQLite", func(t *testing.T) store.Store { return sqlstoretest.SQLite(t).Open(t) }},
	{"PostgreSQL", func(t *testing.T) store.Store { return sqlstoretest.Postgres(t).Open(t) }},
}

// onEachBackend runs test on a fresh service over each backend.
func onEachBackend(t *testing.T, test func(t *testing.T, h *harness)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, newHarness(t, b.open(t))) })
	}
}

// harness is the service as main builds it, over a store that can be
// made to fail and a clock that moves only when stepped, with the
// organization acme and its first token.
type harness struct {
	t     *testing.T
	clock *rotationtest.Clock
	store *flakyStore
	env   service.Env
	srv   http.Handler

	owner, secret string // acme's first token, which holds every scope

	shown *shown // every secret shown, which the logs must never hold
}

// shown are the secrets a test was shown. It is safe for concurrent use.
type shown struct {
	mu      sync.Mutex // guards secrets
	secrets []string
}

// newHarness returns the service over st, as main builds it, with the
// organization acme and its first token.
func newHarness(t *testing.T, st store.Store) *harness {
	t.Helper()
	h := newReplica(t, st, rotationtest.NewClock(start), service.EnvOptions{})
	h.owner, h.secret = h.createOwner("acme")
	return h
}

// newReplica returns a harness whose service is built over st as main
// builds it, on clock, with the Redis of opts if it names one, and no
// organization: another replica of a service over the same database.
func newReplica(t *testing.T, st store.Store, clock *rotationtest.Clock, opts service.EnvOptions) *harness {
	t.Helper()
	h := &harness{t: t, clock: clock, store: &flakyStore{Store: st}, shown: &shown{}}
	logs := &secretstest.Logs{}
	opts.Now = h.clock.Now
	opts.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	if h.env, err = app.NewEnv(h.store, &opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.env.Close() })
	if h.srv, err = app.Handler(h.env); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.shown.mu.Lock()
		defer h.shown.mu.Unlock()
		secretstest.NoLeak(t, logs.String(), h.shown.secrets...)
	})
	return h
}

// replica returns the harness with the service of another replica over
// the same store, whose Rotator has cached nothing yet.
func (h harness) replica() *harness {
	h.t.Helper()
	env, err := app.NewEnv(h.store, &service.EnvOptions{Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	if h.srv, err = app.Handler(env); err != nil {
		h.t.Fatal(err)
	}
	h.env = env
	return &h
}

// on returns the harness for the subtest t of the harness's test.
func (h harness) on(t *testing.T) *harness {
	h.t = t
	return &h
}

// createOwner creates an organization as -create-owner does and returns
// its id and the secret of its first token.
func (h *harness) createOwner(name string) (owner, secret string) {
	h.t.Helper()
	lines, err := createOwner(h.t.Context(), h.env, name)
	if err != nil || len(lines) != 2 {
		h.t.Fatalf("createOwner: %d lines, %v", len(lines), err)
	}
	owner = strings.Trim(strings.TrimPrefix(lines[0], "owner="), "'")
	secret = strings.TrimPrefix(lines[1], "secret=")
	h.saw(secret)
	return owner, secret
}

// saw notes a secret shown to the test.
func (h *harness) saw(secret string) {
	h.shown.mu.Lock()
	defer h.shown.mu.Unlock()
	h.shown.secrets = append(h.shown.secrets, secret)
}

// call is one request: its method, path and body, the secret it
// authenticates with (none if empty) and the address it comes from
// (httptest's 192.0.2.1 if empty).
type call struct {
	method, path, body string
	secret, from       string
}

// answer is what a request got: the status, the headers and the JSON body.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// do serves the request c.
func (h *harness) do(c call) answer {
	h.t.Helper()
	return h.doWith(c, nil)
}

// doWith serves the request c after edit, if not nil, has changed it.
func (h *harness) doWith(c call, edit func(*http.Request)) answer {
	h.t.Helper()
	r := httptest.NewRequestWithContext(h.t.Context(), c.method, c.path, strings.NewReader(c.body))
	if c.secret != "" {
		r.Header.Set("Authorization", "Bearer "+c.secret)
	}
	if c.from != "" {
		r.RemoteAddr = c.from
	}
	if edit != nil {
		edit(r)
	}
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	got := answer{status: w.Code, header: w.Header()}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		h.t.Fatalf("%s %s: Content-Type %q, want application/json", c.method, c.path, ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got.body); err != nil {
		h.t.Fatalf("%s %s: body is not a JSON object: %v", c.method, c.path, err)
	}
	if tok, ok := got.body["api_token"].(map[string]any); ok {
		if s, ok := tok["secret"].(string); ok {
			h.saw(s)
		}
	}
	return got
}

// create creates a token with acme's first token, from a body such as
// `{"api_token": {"name": "ci"}}`, and returns the token as the reply
// shows it.
func (h *harness) create(body string) map[string]any {
	h.t.Helper()
	got := h.do(call{method: "POST", path: "/api_tokens", body: body, secret: h.secret})
	if got.status != http.StatusOK {
		h.t.Fatalf("create: status %d, body %v", got.status, got.body)
	}
	return got.body["api_token"].(map[string]any)
}

// list lists acme's tokens with its first token.
func (h *harness) list() []any {
	h.t.Helper()
	got := h.do(call{method: "GET", path: "/api_tokens", secret: h.secret})
	if got.status != http.StatusOK {
		h.t.Fatalf("list: status %d, body %v", got.status, got.body)
	}
	return got.body["api_tokens"].([]any)
}

// regenerate regenerates the token id with secret.
func (h *harness) regenerate(secret, id string) answer {
	h.t.Helper()
	return h.do(call{method: "POST", path: "/api_tokens/api_token/regenerate_secret", secret: secret,
		body: `{"api_token": {"id": "` + id + `"}}`})
}

// works reports whether secret lists tokens from the address from (the
// default one if empty).
func (h *harness) works(secret, from string) bool {
	h.t.Helper()
	return h.do(call{method: "GET", path: "/api_tokens", secret: secret, from: from}).status == http.StatusOK
}

// isError checks that got is the error code with the status, and returns
// its detail.
func isError(t *testing.T, got answer, status int, code string) map[string]any {
	t.Helper()
	is := is.NewRelaxed(t)
	is.Equal(got.status, status)     // the status of the code
	is.Equal(got.body["code"], code) // the document's code
	_, described := got.body["description"].(string)
	is.True(described) // every error has a description
	detail, ok := got.body["detail"].(map[string]any)
	is.True(ok)                                           // every error has a detail object
	is.Equal(len(got.body), 3)                            // code, description and detail, nothing more
	is.Equal(got.header.Get("Cache-Control"), "no-store") // errors are not cached either
	return detail
}

// secretOf returns the secret of a token as its reply shows it.
func secretOf(tok map[string]any) string { return tok["secret"].(string) }

// idOf returns the id of a token as its reply shows it.
func idOf(tok map[string]any) string { return tok["id"].(string) }

// unixAt returns t as the JSON of expires_at decodes: seconds, as a
// float64.
func unixAt(t time.Time) float64 { return float64(t.Unix()) }

// unknownSecret returns a well-formed secret that no token has.
func unknownSecret(t *testing.T) string {
	t.Helper()
	v, err := secrets.Format(format).Generate()
	if err != nil {
		t.Fatal(err)
	}
	return v.Reveal()
}

// errBackend is how a database that is down fails.
var errBackend = errors.New("connection refused")

// flakyStore is a store whose backend can be made to fail as a database
// that is down fails: its errors are *store.OpError around an error of
// the backend's own, not one of package store's sentinels.
type flakyStore struct {
	store.Store

	mu   sync.Mutex      // guards down
	down map[string]bool // the operations that fail: "load", "save", "lookup", "record uses"
}

// fail makes the operations fail from now on, and only them; none means
// every one.
func (s *flakyStore) fail(ops ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ops) == 0 {
		ops = []string{"load", "save", "lookup", "record uses"}
	}
	s.down = make(map[string]bool)
	for _, op := range ops {
		s.down[op] = true
	}
}

// restore ends every failure.
func (s *flakyStore) restore() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = nil
}

func (s *flakyStore) err(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down[op] {
		return &store.OpError{Op: op, Err: errBackend}
	}
	return nil
}

func (s *flakyStore) Load(ctx context.Context, owner string) (store.Keyset, error) {
	if err := s.err("load"); err != nil {
		return store.Keyset{}, err
	}
	return s.Store.Load(ctx, owner)
}

func (s *flakyStore) Save(ctx context.Context, ks store.Keyset) error {
	if err := s.err("save"); err != nil {
		return err
	}
	return s.Store.Save(ctx, ks)
}

func (s *flakyStore) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	if err := s.err("lookup"); err != nil {
		return store.Match{}, err
	}
	return s.Store.Lookup(ctx, d)
}

func (s *flakyStore) RecordUses(ctx context.Context, uses []store.Use) error {
	if err := s.err("record uses"); err != nil {
		return err
	}
	return s.Store.RecordUses(ctx, uses)
}
