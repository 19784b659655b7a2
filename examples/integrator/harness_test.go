package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// route is the one route of the service.
const route = "/v1/integrator/regenerate-secret"

// start is where every test's clock begins: a whole second, so that a
// signature's timestamp (whole seconds) is the clock's instant.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// backends are the databases every test runs on. PostgreSQL needs
// ROTOR_POSTGRES_DSN; without it its tests skip, except under CI=true.
var backends = []struct {
	name string
	db   func(testing.TB) *sqlstoretest.DB
}{
	{"SQLite", sqlstoretest.SQLite},
	{"PostgreSQL", sqlstoretest.Postgres},
}

// eachBackend runs test once per backend, as a subtest named after it.
func eachBackend(t *testing.T, test func(t *testing.T, db func(testing.TB) *sqlstoretest.DB)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.db) })
	}
}

// harness is the service over a database of its own, with a stepped
// clock and one integrator, "acme", made as -create-owner makes it. When
// the test ends it checks that no secret it saw reached the logs.
type harness struct {
	t     *testing.T
	clock *rotationtest.Clock
	db    *sqlstoretest.DB
	ring  *secrets.Keyring
	env   service.Env // the service's, as main builds it
	h     http.Handler
	logs  *secretstest.Logs

	owner  string // "acme"
	first  string // its first secret, printed by createOwner
	id     string // the id of its secret, which every value keeps
	secret string // the latest value a reply handed out

	mu   sync.Mutex // guards seen, written by concurrent requests
	seen []string   // every secret value handed out
}

// newHarness returns a harness over a new database of the backend. wrap,
// if not nil, stands between the Rotator and the store.
func newHarness(t *testing.T, db func(testing.TB) *sqlstoretest.DB, wrap func(store.Store) store.Store) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		clock: rotationtest.NewClock(start),
		db:    db(t),
		ring:  secretstest.Keyring(t),
		logs:  &secretstest.Logs{},
		owner: "acme",
	}
	var st store.Store = h.db.Open(t)
	if wrap != nil {
		st = wrap(st)
	}
	h.env, h.h = h.service(st, h.ring, service.EnvOptions{})
	lines, err := createOwner(t.Context(), h.env, h.owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0] != "owner=acme" || !strings.HasPrefix(lines[1], "secret=sk_live_") {
		t.Fatalf("createOwner printed %d lines, want owner=acme and secret=sk_live_…", len(lines))
	}
	h.first = strings.TrimPrefix(lines[1], "secret=")
	h.secret = h.first
	h.seen = append(h.seen, h.first)
	h.id = h.only().ID
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		secretstest.NoLeak(t, h.logs.String(), h.seen...)
	})
	return h
}

// service returns the Env of the service over st with keyring ring, on
// the harness's clock and logs, with the Redis of opts if it names one,
// and the handler main serves over it. The Env is closed when the test
// ends.
func (h *harness) service(st store.Store, ring *secrets.Keyring, opts service.EnvOptions) (service.Env, http.Handler) {
	h.t.Helper()
	opts.Now, opts.Keyring = h.clock.Now, ring
	opts.Log = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env, err := app.NewEnv(st, &opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { env.Close() })
	handler, err := app.Handler(env)
	if err != nil {
		h.t.Fatal(err)
	}
	return env, handler
}

// only returns the integrator's one secret, failing the test if it has
// another number.
func (h *harness) only() rotation.Secret {
	h.t.Helper()
	// Through a Rotator of its own, with nothing cached: other replicas
	// may have changed the secret since the harness's read it.
	env, err := app.NewEnv(h.db.Open(h.t), &service.EnvOptions{Now: h.clock.Now, Keyring: h.ring})
	if err != nil {
		h.t.Fatal(err)
	}
	list, err := env.Rotator.List(h.t.Context(), h.owner)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(list) != 1 {
		h.t.Fatalf("the integrator has %d secrets, want 1", len(list))
	}
	return list[0]
}

// message is a signed request as a client builds it.
type message struct {
	secret string    // signs it; "" leaves it unsigned
	id     string    // webhook-id; "" means a new one
	at     time.Time // webhook-timestamp; zero means the clock's now
	owner  string    // Integrator-Id; "" means none
	body   string
}

// signed returns a request to the route from the harness's integrator
// with body, signed with secret now.
func (h *harness) signed(secret, body string) *http.Request {
	return h.request(message{secret: secret, owner: h.owner, body: body})
}

// request returns a POST to the route carrying m, signed in the Standard
// Webhooks scheme as the README's openssl line signs: HMAC-SHA256 keyed
// with the bytes of the whole secret, over "id.timestamp.body".
func (h *harness) request(m message) *http.Request {
	r := httptest.NewRequest(http.MethodPost, route, strings.NewReader(m.body))
	if m.id == "" {
		m.id = hmacsign.NewMessageID()
	}
	if m.at.IsZero() {
		m.at = h.clock.Now()
	}
	ts := strconv.FormatInt(m.at.Unix(), 10)
	if m.secret != "" {
		mac := hmac.New(sha256.New, []byte(m.secret))
		mac.Write([]byte(m.id + "." + ts + "." + m.body))
		r.Header.Set("Webhook-Id", m.id)
		r.Header.Set("Webhook-Timestamp", ts)
		r.Header.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	if m.owner != "" {
		r.Header.Set("Integrator-Id", m.owner)
	}
	return r
}

// bearer returns a request to the route presenting secret as a bearer
// key, with body.
func (h *harness) bearer(secret, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, route, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+secret)
	return r
}

// serve answers r, and keeps the secret of a 200 reply as h.secret.
func (h *harness) serve(r *http.Request) *httptest.ResponseRecorder {
	return h.serveBy(h.h, r)
}

// serveBy answers r with handler, such as another replica's, as serve
// does.
func (h *harness) serveBy(handler http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	if w.Code == http.StatusOK {
		var reply struct{ Secret string }
		if err := json.Unmarshal(w.Body.Bytes(), &reply); err == nil && reply.Secret != "" {
			h.mu.Lock()
			h.secret = reply.Secret
			h.seen = append(h.seen, reply.Secret)
			h.mu.Unlock()
		}
	}
	return w
}

// regenerated checks that w is a 200 regeneration reply, whose members
// are exactly secret and, when expires is not zero, oldSecretExpiresAt
// with that instant, and that the secret kept its id and has the value
// the reply shows. It returns the new secret.
func (h *harness) regenerated(w *httptest.ResponseRecorder, expires time.Time) string {
	h.t.Helper()
	is := is.NewRelaxed(h.t)
	is.Equal(w.Code, http.StatusOK)                              // the regeneration succeeds
	is.Equal(w.Header().Get("Content-Type"), "application/json") // a JSON reply
	is.Equal(w.Header().Get("Cache-Control"), "no-store")        // a secret shown once is not cached
	var reply map[string]string
	is.NoErr(json.Unmarshal(w.Body.Bytes(), &reply)) // members are strings
	want := map[string]string{"secret": reply["secret"]}
	if !expires.IsZero() {
		want["oldSecretExpiresAt"] = expires.Format(time.RFC3339Nano)
	}
	if diff := cmp.Diff(want, reply); diff != "" {
		h.t.Errorf("reply (-want +got):\n%s", diff)
	}
	is.True(strings.HasPrefix(reply["secret"], "sk_live_")) // the secret keeps its format
	s := h.only()
	is.Equal(s.ID, h.id)                                               // the secret keeps its id
	is.Equal(s.Current.Hint, reply["secret"][len(reply["secret"])-4:]) // its current value is the one handed out
	return reply["secret"]
}

// problem checks that w is an application/problem+json answer with the
// status and returns its members, without detail, whose text is
// rotationhttp's.
func problem(t *testing.T, w *httptest.ResponseRecorder, status int) map[string]any {
	t.Helper()
	is := is.NewRelaxed(t)
	is.Equal(w.Code, status)                                             // the status
	is.Equal(w.Header().Get("Content-Type"), "application/problem+json") // RFC 9457
	is.Equal(w.Header().Get("Cache-Control"), "no-store")                // refusals are not cached
	var p map[string]any
	is.NoErr(json.Unmarshal(w.Body.Bytes(), &p)) // the body is a JSON object
	delete(p, "detail")
	return p
}

// unauthorized is the problem of a 401 with code.
func unauthorized(code string) map[string]any {
	return map[string]any{
		"type": "about:blank", "title": "Unauthorized", "status": float64(401), "instance": route,
		"code": code, "realm": "integrator", "scope": "integrator:secret",
	}
}

// unchanged checks that the integrator's secret still has the current
// value it had, with no other value in grace than before.
func (h *harness) unchanged(before rotation.Secret) {
	h.t.Helper()
	after := h.only()
	if diff := cmp.Diff(before.Current.ID, after.Current.ID); diff != "" {
		h.t.Errorf("current value (-want +got):\n%s", diff)
	}
	if len(after.Previous) != len(before.Previous) {
		h.t.Errorf("the secret has %d values in grace, want %d", len(after.Previous), len(before.Previous))
	}
}

// gate is a store whose saves wait, once armed for n, until n saves are
// waiting: n requests that each mean to change a secret have all been let
// in and read it before any of them writes.
type gate struct {
	store.Store
	mu      sync.Mutex // guards waiting
	n       int
	waiting int
	open    chan struct{}
}

func (g *gate) arm(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n, g.waiting, g.open = n, 0, make(chan struct{})
}

func (g *gate) Save(ctx context.Context, ks store.Keyset) error {
	g.mu.Lock()
	open := g.open
	if open != nil {
		g.waiting++
		if g.waiting == g.n {
			close(open)
		}
	}
	g.mu.Unlock()
	if open != nil {
		select {
		case <-open:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Store.Save(ctx, ks)
}

// holdStore is a store that holds the loads of one request once it has
// been let in, until released, so that another request can change the
// secret in between.
type holdStore struct {
	store.Store
	// letIn reports whether a load with ctx is one to hold: made for the
	// marked request after it was let in.
	letIn   func(ctx context.Context) bool
	held    chan struct{} // closed when the first load is held
	release chan struct{} // closed to let held loads go on
	once    sync.Once
}

// heldKey marks the context of the request whose loads are held.
type heldKey struct{}

func (s *holdStore) Load(ctx context.Context, owner string) (store.Keyset, error) {
	if ctx.Value(heldKey{}) != nil && s.letIn(ctx) {
		s.once.Do(func() { close(s.held) })
		select {
		case <-s.release:
		case <-ctx.Done():
			return store.Keyset{}, ctx.Err()
		}
	}
	return s.Store.Load(ctx, owner)
}
