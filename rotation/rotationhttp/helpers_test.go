package rotationhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/memstore"
)

// t0 is where every test clock starts.
var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// peer is the connection address httptest.NewRequest gives a request.
const peer = "192.0.2.1"

// fixture is a Rotator over a memstore with a stepped clock and a keyring
// (so that secrets created with HMAC can be designated), an Authenticator
// over it that logs everything, and a mux of test routes served through
// rotationhttp.Routes with the Authenticator's renderer, as a service
// serves them.
type fixture struct {
	clock  *rotationtest.Clock
	rot    *rotation.Rotator
	limit  *ratelimit.Memory // the Authenticator's limiter, on clock
	auth   *rotationhttp.Authenticator
	logs   *secretstest.Logs
	mux    *http.ServeMux
	routes http.Handler // mux through Routes
	keys   []string     // every key revealed, for leak checks
}

// newFixture builds a fixture; edit tweaks the Authenticator's options.
func newFixture(t *testing.T, edit func(*rotationhttp.Options)) *fixture {
	t.Helper()
	f := &fixture{clock: rotationtest.NewClock(t0), logs: &secretstest.Logs{}}
	var err error
	f.rot, err = rotation.New(memstore.New(), &rotation.Options{Now: f.clock.Now, Keyring: secretstest.Keyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	if f.limit, err = ratelimit.NewMemory(&ratelimit.MemoryOptions{Now: f.clock.Now}); err != nil {
		t.Fatal(err)
	}
	opts := &rotationhttp.Options{
		Realm:   "rotor-test",
		Limiter: f.limit,
		Logger:  slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(opts)
	}
	if f.auth, err = rotationhttp.NewAuthenticator(f.rot, opts); err != nil {
		t.Fatal(err)
	}
	f.mux = http.NewServeMux()
	f.mux.Handle("GET /v1/whoami", f.auth.Require("secrets:read", http.HandlerFunc(f.whoami)))
	f.mux.Handle("POST /v1/secrets/{id}/regenerate", f.auth.Require("secrets:write", http.HandlerFunc(f.regenerate)))
	f.mux.HandleFunc("GET /v1/secrets/{id}", func(w http.ResponseWriter, r *http.Request) {
		rotationhttp.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	f.routes = rotationhttp.Routes(f.mux, f.auth.Render)
	t.Cleanup(func() { secretstest.NoLeak(t, f.logs.String(), f.keys...) }) // no log line holds a key
	return f
}

// whoami answers with what the middleware put in the context.
func (f *fixture) whoami(w http.ResponseWriter, r *http.Request) {
	p, ok := rotationhttp.FromContext(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(whoami{Owner: p.Owner, SecretID: p.Secret.ID, Previous: p.Previous, IP: f.auth.ClientIP(r)})
}

type whoami struct {
	Owner    string `json:"owner"`
	SecretID string `json:"secretId"`
	// Previous reports whether the key presented is a previous value of
	// the secret, inside its grace window.
	Previous bool       `json:"previous"`
	IP       netip.Addr `json:"ip"`
}

// regenerate is the handler the package doc shows.
func (f *fixture) regenerate(w http.ResponseWriter, r *http.Request) {
	p, _ := rotationhttp.FromContext(r.Context())
	grace, err := rotationhttp.DecodeRegenerate(r, f.rot.Policy().MaxGracePeriod)
	if err != nil {
		f.auth.Error(w, r, err)
		return
	}
	res, err := f.rot.Regenerate(r.Context(), p.Owner, r.PathValue("id"), grace)
	if err != nil {
		f.auth.Error(w, r, err)
		return
	}
	rotationhttp.WriteJSON(w, http.StatusOK, map[string]string{"id": res.ID, "secret": res.Value.Reveal()})
}

// create makes a secret for owner and returns its id and key.
func (f *fixture) create(t *testing.T, owner string, spec rotation.Spec) (id, key string) {
	t.Helper()
	iss, err := f.rot.Create(t.Context(), owner, spec)
	if err != nil {
		t.Fatalf("create for %s: %v", owner, err)
	}
	f.keys = append(f.keys, iss.Value.Reveal())
	return iss.ID, iss.Value.Reveal()
}

// request is one request to send through the fixture's routes.
type request struct {
	method, path string
	header       http.Header
	remote       string // RemoteAddr; empty: httptest's default
	body         string
}

// do sends req through the routes and returns the recorded response,
// failing t if the response holds a key other than one the handler
// revealed.
func (f *fixture) do(t *testing.T, req request) *httptest.ResponseRecorder {
	t.Helper()
	w := f.serve(t.Context(), req)
	secretstest.NoLeak(t, w.Body.String(), f.keys...) // no answer holds a key, but the one meant to
	return w
}

// serve sends req through the routes and returns the recorded response.
// It checks nothing, so goroutines other than the test's may call it.
func (f *fixture) serve(ctx context.Context, req request) *httptest.ResponseRecorder {
	if req.method == "" {
		req.method = http.MethodGet
	}
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r := httptest.NewRequestWithContext(ctx, req.method, req.path, body)
	for k, vs := range req.header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if req.remote != "" {
		r.RemoteAddr = req.remote
	}
	w := httptest.NewRecorder()
	f.routes.ServeHTTP(w, r)
	return w
}

// bearer returns a header carrying key.
func bearer(key string) http.Header {
	return http.Header{"Authorization": {"Bearer " + key}}
}

// response is what the tests compare of an error response, whatever the
// shape of its body.
type response struct {
	Status          int
	ContentType     string
	CacheControl    string
	WWWAuthenticate string
	RetryAfter      string
	Allow           string
	Body            map[string]any
}

// responseOf reads a recorded response. It fails the test when the body is
// not one JSON object. Numbers, at any depth, compare as ints.
func responseOf(t *testing.T, w *httptest.ResponseRecorder) response {
	t.Helper()
	var body map[string]any
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	if err := ints(body); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	h := w.Result().Header
	return response{
		Status:          w.Code,
		ContentType:     h.Get("Content-Type"),
		CacheControl:    h.Get("Cache-Control"),
		WWWAuthenticate: h.Get("WWW-Authenticate"),
		RetryAfter:      h.Get("Retry-After"),
		Allow:           h.Get("Allow"),
		Body:            body,
	}
}

// ints turns every json.Number in v, a decoded JSON value, into an int.
func ints(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if n, ok := e.(json.Number); ok {
				i, err := n.Int64()
				if err != nil {
					return fmt.Errorf("member %s: %w", k, err)
				}
				v[k] = int(i)
				continue
			}
			if err := ints(e); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if n, ok := e.(json.Number); ok {
				j, err := n.Int64()
				if err != nil {
					return fmt.Errorf("item %d: %w", i, err)
				}
				v[i] = int(j)
				continue
			}
			if err := ints(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// problem returns the response a problem with these members should give,
// with the headers every problem has.
func problem(status int, members map[string]any) response {
	body := map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status}
	for k, v := range members {
		body[k] = v
	}
	return response{Status: status, ContentType: "application/problem+json", CacheControl: "no-store", Body: body}
}

// jsonAnswer returns the response WriteJSON gives for status and body.
func jsonAnswer(status int, body map[string]any) response {
	return response{Status: status, ContentType: "application/json", CacheControl: "no-store", Body: body}
}

func withAuth(r response, challenge string) response {
	r.WWWAuthenticate = challenge
	return r
}

func withRetry(r response, after string) response {
	r.RetryAfter = after
	return r
}

// wire returns the whole of a recorded response as text: status line,
// headers and body, for leak checks.
func wire(w *httptest.ResponseRecorder) string {
	return fmt.Sprintf("%d %s\n%s\n%s", w.Code, http.StatusText(w.Code), headerText(w.Header()), w.Body.String())
}

func headerText(h http.Header) string {
	var b strings.Builder
	_ = h.Write(&b)
	return b.String()
}

// unknownKey returns a well-formed key that no Rotator issued.
func unknownKey(t *testing.T) string {
	t.Helper()
	v, err := rotation.DefaultFormat.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return v.Reveal()
}
