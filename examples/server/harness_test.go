package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store/memstore"
)

// start is where every test's clock begins.
var start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

const localhost = "127.0.0.1"

// harness is the service behind a real HTTP server on loopback, with a
// clock the test steps. It remembers every secret value the service
// hands out, and at the end of the test checks that none of them, in any
// shape, reached the logs.
type harness struct {
	clock *rotationtest.Clock
	srv   *Server
	url   string
	http  *http.Client
	logs  *syncBuffer

	mu    sync.Mutex // guards shown
	shown []string
}

// newHarness starts a server with opts, whose Store is a memstore and
// whose Keyring is a fresh one unless set (replicas share one); the clock
// and logger are the harness's.
func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	is := is.New(t)
	h := &harness{clock: rotationtest.NewClock(start), logs: &syncBuffer{}}
	if opts.Keyring == nil {
		opts.Keyring = secretstest.Keyring(t)
	}
	if opts.Store == nil {
		opts.Store = memstore.New()
	}
	opts.Now = h.clock.Now
	// Debug, so the refusals rotationhttp logs are checked for leaks too.
	opts.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	h.srv, err = NewServer(opts)
	is.NoErr(err) // the server starts
	ts := httptest.NewServer(h.srv)
	h.url, h.http = ts.URL, ts.Client()
	t.Cleanup(func() {
		ts.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		secretstest.NoLeak(t, h.logs.String(), h.shown...)
	})
	return h
}

// owner creates an owner as -create-owner does and returns its id and
// first key.
func (h *harness) owner(t *testing.T, name string) (owner, key string) {
	t.Helper()
	iss, err := h.srv.CreateOwner(t.Context(), name)
	is.New(t).NoErr(err) // the owner is created
	h.remember(iss.Value.Reveal())
	return iss.Owner, iss.Value.Reveal()
}

func (h *harness) remember(secret string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shown = append(h.shown, secret)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with key as its bearer token ("" for none) and
// body ("" for none), and remembers any secret in the reply.
func (h *harness) do(t *testing.T, method, path, key, body string) response {
	t.Helper()
	authorization := ""
	if key != "" {
		authorization = "Bearer " + key
	}
	return h.send(t, method, path, authorization, body)
}

// send is do with the whole Authorization header given ("" for none).
func (h *harness) send(t *testing.T, method, path, authorization, body string) response {
	t.Helper()
	r, err := h.roundTrip(t.Context(), method, path, authorization, body)
	is.New(t).NoErr(err) // the server answers, and the whole reply is read
	return r
}

// roundTrip is send that reports failures instead of failing the test, so
// goroutines other than the test's may call it.
func (h *harness) roundTrip(ctx context.Context, method, path, authorization, body string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.url+path, rd)
	if err != nil {
		return response{}, err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := h.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	var shown struct {
		Secret string `json:"secret"`
	}
	if json.Unmarshal(b, &shown) == nil && shown.Secret != "" {
		h.remember(shown.Secret)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// ok checks that r is a JSON success with the status want, and decodes it.
func ok[T any](t *testing.T, r response, want int) T {
	t.Helper()
	is := is.New(t)
	is.Equal(r.status, want)                                   // the request succeeds
	is.Equal(r.header.Get("Content-Type"), "application/json") // replies are JSON
	is.Equal(r.header.Get("Cache-Control"), "no-store")        // no reply is cached
	var v T
	is.NoErr(json.Unmarshal(r.body, &v)) // the reply decodes
	return v
}

// list returns the secrets key's owner has, as GET /v1/secrets shows
// them, after checking that no value is among them.
func (h *harness) list(t *testing.T, key string) []secretView {
	t.Helper()
	r := h.do(t, http.MethodGet, "/v1/secrets", key, "")
	h.mu.Lock()
	secretstest.NoLeak(t, string(r.body), h.shown...)
	h.mu.Unlock()
	return ok[[]secretView](t, r, http.StatusOK)
}

var problemOpts = cmp.Options{
	cmpopts.IgnoreFields(rotationhttp.Problem{}, "Detail"), // prose, for people
	cmpopts.IgnoreFields(rotationhttp.FieldError{}, "Detail"),
	cmpopts.EquateComparable(netip.Addr{}),
	cmpopts.EquateEmpty(),
}

// problem checks that r is the RFC 9457 problem want; the type and
// title default to about:blank and the status phrase, and the instance
// to the request's path.
func problem(t *testing.T, r response, path string, want rotationhttp.Problem) {
	t.Helper()
	is := is.New(t)
	is.Equal(r.status, want.Status)                                    // the status
	is.Equal(r.header.Get("Content-Type"), "application/problem+json") // errors are problems
	var got rotationhttp.Problem
	is.NoErr(json.Unmarshal(r.body, &got)) // the problem decodes
	is.True(got.Detail != "")              // a problem explains itself
	if want.Type == "" {
		want.Type = "about:blank"
	}
	if want.Title == "" {
		want.Title = http.StatusText(want.Status)
	}
	if want.Instance == "" {
		want.Instance = path
	}
	if diff := cmp.Diff(want, got, problemOpts); diff != "" {
		t.Errorf("problem (-want +got):\n%s", diff)
	}
}

// hint is what the service shows of a key: its last four characters.
func hint(key string) string { return key[len(key)-4:] }

func at(t time.Time) *time.Time { return &t }
func str(s string) *string      { return &s }

// syncBuffer is a bytes.Buffer that handlers may log to concurrently.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
