package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// start is where every test's clock begins.
var start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// clientIP is the address httptest.NewRequest gives every request.
const clientIP = "192.0.2.1"

// eachStore runs test as subtests over a fresh SQLite database and a fresh
// PostgreSQL schema; the second is skipped without ROTOR_POSTGRES_DSN, and
// fails under CI=true.
func eachStore(t *testing.T, test func(t *testing.T, h *harness)) {
	t.Helper()
	for _, b := range []struct {
		name string
		db   func(testing.TB) *sqlstoretest.DB
	}{{"SQLite", sqlstoretest.SQLite}, {"PostgreSQL", sqlstoretest.Postgres}} {
		t.Run(b.name, func(t *testing.T) { test(t, newHarness(t, b.db(t).Open(t))) })
	}
}

// harness is the service over one store, as main builds it, with a clock
// the test steps, and the account "acme" made by createOwner. It
// remembers every key the service hands out, and when the test ends
// checks that none of them, in any form, reached the logs.
type harness struct {
	clock   *rotationtest.Clock
	store   *sqlstore.Store
	handler http.Handler
	logs    *secretstest.Logs
	// live and test are acme's first keys, which hold every permission.
	live, test string

	mu    sync.Mutex // guards shown
	shown []string
}

// replica returns the harness with the service of another replica over
// the same store, whose Rotator has cached nothing yet.
func (h *harness) replica(t *testing.T) *harness {
	t.Helper()
	env, err := app.NewEnv(h.store, &service.EnvOptions{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	handler, err := app.Handler(env)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{clock: h.clock, store: h.store, handler: handler, logs: h.logs, live: h.live, test: h.test}
}

func newHarness(t *testing.T, st *sqlstore.Store) *harness {
	t.Helper()
	is := is.New(t)
	h := &harness{clock: rotationtest.NewClock(start), store: st, logs: &secretstest.Logs{}}
	// Debug, so the refusals rotationhttp logs are checked for leaks too.
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env, err := app.NewEnv(st, &service.EnvOptions{Now: h.clock.Now, Log: log})
	is.NoErr(err) // the Rotator is made, as main makes it
	h.handler, err = app.Handler(env)
	is.NoErr(err) // the routes are made
	lines, err := app.CreateOwner(t.Context(), env, "acme")
	is.NoErr(err) // the account is made
	h.live = strings.TrimPrefix(lines[1], "secret=")
	h.test = strings.TrimPrefix(lines[2], "test_secret=")
	h.remember(h.live, h.test)
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		secretstest.NoLeak(t, h.logs.String(), h.shown...)
	})
	return h
}

func (h *harness) remember(keys ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shown = append(h.shown, keys...)
}

// reply is a response, decoded from the document's envelope.
type reply struct {
	status int
	header http.Header
	body   []byte

	Message string          `json:"message"`
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code    int            `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

// apiKey is the data of a reply that shows one key.
type apiKey struct {
	Object      string                     `json:"object"`
	ID          string                     `json:"id"`
	AccountID   string                     `json:"account_id"`
	Name        string                     `json:"name"`
	Type        string                     `json:"type"`
	Key         string                     `json:"key"`
	LastUsedIP  *string                    `json:"last_used_ip"`
	Metadata    map[string]json.RawMessage `json:"metadata"`
	Permissions map[string][]string        `json:"permissions"`
	Status      string                     `json:"status"`
	LastUsedAt  *string                    `json:"last_used_at"`
	ExpiresAt   *string                    `json:"expires_at"`
	Managed     bool                       `json:"managed"`
	Deleted     bool                       `json:"deleted"`
	CreatedAt   *string                    `json:"created_at"`
	UpdatedAt   *string                    `json:"updated_at"`
}

// do sends a request with key as its bearer token (none if empty) and
// body (none if empty), and decodes the reply.
func (h *harness) do(t *testing.T, method, path, key, body string) reply {
	t.Helper()
	header := ""
	if key != "" {
		header = "Bearer " + key
	}
	return h.send(t, method, path, header, strings.NewReader(body))
}

// send is do with the Authorization header and body as they are.
func (h *harness) send(t *testing.T, method, path, authorization string, body io.Reader) reply {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), method, path, body)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	res := reply{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, want application/json; body %s", method, path, ct, res.shown())
	}
	if err := json.Unmarshal(res.body, &res); err != nil {
		t.Fatalf("%s %s: the reply is not JSON: %v", method, path, err)
	}
	var key apiKey
	if json.Unmarshal(res.Data, &key) == nil && key.Key != "" {
		h.remember(key.Key)
	}
	return res
}

// shown is the body of res for a failure message, with the values of
// keys left out: a test that fails must not print one either.
func (res reply) shown() string {
	return keyMember.ReplaceAllString(string(res.body), `"key":"…"`)
}

// keyMember is the member of a key's view that holds its value.
var keyMember = regexp.MustCompile(`"key":"[^"]*"`)

// key returns the one key res shows, after checking that res is a success
// with status.
func (res reply) key(t *testing.T, status int) apiKey {
	t.Helper()
	res.ok(t, status)
	var k apiKey
	if err := json.Unmarshal(res.Data, &k); err != nil {
		t.Fatalf("the data is not a key: %v; body %s", err, res.shown())
	}
	return k
}

// keys returns the keys a list shows, after checking that it is a success.
func (res reply) keys(t *testing.T) []apiKey {
	t.Helper()
	res.ok(t, http.StatusOK)
	var ks []apiKey
	if err := json.Unmarshal(res.Data, &ks); err != nil {
		t.Fatalf("the data is not a list of keys: %v; body %s", err, res.shown())
	}
	return ks
}

// ok checks that res is a success with status, in the envelope.
func (res reply) ok(t *testing.T, status int) {
	t.Helper()
	if res.status != status || !res.Success || res.Message != "success" || res.Error != nil {
		t.Fatalf("got %d %s, want a success with %d", res.status, res.shown(), status)
	}
}

// failed checks that res is a failure with status and the numeric code,
// in the envelope, and returns its details.
func (res reply) failed(t *testing.T, status, code int) map[string]any {
	t.Helper()
	if res.status != status || res.Success || res.Error == nil || res.Error.Code != code ||
		res.Message == "" || res.Message != res.Error.Message || res.Data != nil || res.Error.Details == nil {
		t.Fatalf("got %d %s, want a failure with %d and code %d", res.status, res.shown(), status, code)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}
	return res.Error.Details
}

// create has key create a key from body, checks that it was, and returns
// it.
func (h *harness) create(t *testing.T, key, body string) apiKey {
	t.Helper()
	return h.do(t, "POST", "/v1/api-keys", key, body).key(t, http.StatusCreated)
}

// works reports whether key may list keys, and fails t on a reply other
// than a success or a 401.
func (h *harness) works(t *testing.T, key string) bool {
	t.Helper()
	res := h.do(t, "GET", "/v1/api-keys", key, "")
	if res.status == http.StatusUnauthorized {
		res.failed(t, http.StatusUnauthorized, 4011)
		return false
	}
	res.ok(t, http.StatusOK)
	return true
}

// ids returns the ids of the keys key lists.
func (h *harness) ids(t *testing.T, key string) []string {
	t.Helper()
	var ids []string
	for _, k := range h.do(t, "GET", "/v1/api-keys", key, "").keys(t) {
		ids = append(ids, k.ID)
	}
	return ids
}
