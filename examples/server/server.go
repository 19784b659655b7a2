package main

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// The scopes the routes require. Every key this service creates is
// granted all three; keys made some other way over the same store (a
// support tool, a migration) may hold fewer, and are refused with 403
// where they fall short.
const (
	scopeRead     = "secrets:read"
	scopeWrite    = "secrets:write"
	scopeWebhooks = "webhooks:test"
)

var allScopes = []string{scopeRead, scopeWrite, scopeWebhooks}

// realm names this service in WWW-Authenticate challenges and in 401
// problems.
const realm = "rotor-example"

// Options configures a [Server]. Store and Keyring are required.
type Options struct {
	// Store keeps the secrets: a sqlstore, a cachestore around one, or a
	// memstore in tests.
	Store store.Store
	// Keyring seals the value of every secret, so that the one designated
	// for webhooks can sign them.
	Keyring *secrets.Keyring
	// Now is the service's clock: grace windows, statuses, rate limits
	// and webhook timestamps all read it. nil means time.Now; tests pass
	// rotationtest.Clock.Now.
	Now func() time.Time
	// Logger receives one line per request, audit events and refusals;
	// never a secret. nil discards them.
	Logger *slog.Logger
	// RateLimit is the number of requests a minute allowed to each key
	// the service creates; 0 means no limit. A key keeps the limit it was
	// created with through every regeneration, and its budget too: its
	// values, old and new, draw on one.
	RateLimit int
}

// Server is the example service: an http.Handler whose routes manage the
// caller's own secrets. It is safe for concurrent use. Use [NewServer].
type Server struct {
	rot       *rotation.Rotator
	auth      *rotationhttp.Authenticator
	signer    *hmacsign.Signer
	now       func() time.Time
	log       *slog.Logger
	rateLimit int
	mux       *http.ServeMux
}

// NewServer returns a Server over opts.Store. It starts no goroutines;
// call [Server.Flush] before exiting so the last uses are written.
func NewServer(opts Options) (*Server, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("server: Options.Store is required")
	case opts.Keyring == nil:
		return nil, errors.New("server: Options.Keyring is required")
	case opts.RateLimit < 0:
		return nil, errors.New("server: Options.RateLimit must not be negative")
	}
	s := &Server{now: opts.Now, log: opts.Logger, rateLimit: opts.RateLimit}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}

	// One clock for everything: the Rotator's grace windows, the
	// Authenticator's rate limits and the Signer's timestamps must agree,
	// or a test that steps the clock would see them drift apart.
	var err error
	s.rot, err = rotation.New(opts.Store, &rotation.Options{
		Keyring:  opts.Keyring,
		Now:      s.now,
		Logger:   s.log,
		Observer: rotation.LogEvents(s.log), // an audit line per change: ids and hints only
	})
	if err != nil {
		return nil, err
	}
	s.auth, err = rotationhttp.NewAuthenticator(s.rot, &rotationhttp.Options{
		Realm:  realm,
		Now:    s.now,
		Logger: s.log,
	})
	if err != nil {
		return nil, err
	}
	// The Rotator is the Signer's key source: it hands over the designated
	// secret's current value, and its previous values while they are in
	// their grace windows.
	s.signer = hmacsign.NewSigner(s.rot, &hmacsign.SignerOptions{Now: s.now})

	s.mux = http.NewServeMux()
	route := func(pattern, scope string, h http.HandlerFunc) {
		s.mux.Handle(pattern, s.auth.Require(scope, h))
	}
	route("POST /v1/integrator/regenerate-secret", scopeWrite, s.regenerateOwn)
	route("GET /v1/secrets", scopeRead, s.listSecrets)
	route("POST /v1/secrets", scopeWrite, s.createSecret)
	route("POST /v1/secrets/{id}/regenerate", scopeWrite, s.regenerateSecret)
	route("POST /v1/secrets/{id}/use-for-webhooks", scopeWrite, s.useForWebhooks)
	route("DELETE /v1/secrets/{id}", scopeWrite, s.deleteSecret)
	route("POST /v1/webhooks/test", scopeWebhooks, s.testWebhook)
	return s, nil
}

// ServeHTTP routes the request and logs it: its route, status and
// duration. Neither headers nor the path are logged: Authorization holds
// a key, and a client may paste a key where an id belongs
// (DELETE /v1/secrets/sk_live_…). The route, such as
// "DELETE /v1/secrets/{id}", is the pattern the mux matched; the audit
// events name the secrets that changed.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now() // wall time, for the duration only
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r) // sets r.Pattern
	route := r.Pattern
	if route == "" {
		route = "none"
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("route", route),
		slog.Int("status", rec.status),
		slog.Duration("duration", time.Since(start)))
}

// CreateOwner makes a new owner with one secret, named name, which becomes
// the owner's webhook signing secret, and returns that secret with its
// value; its Owner field is the new owner's id. rotor keeps no owner
// records of its own: an owner is an id that secrets belong to, which a
// real service takes from its own accounts table.
func (s *Server) CreateOwner(ctx context.Context, name string) (*rotation.Issued, error) {
	owner := "own_" + strings.ToLower(rand.Text())
	return s.rot.Create(ctx, owner, s.spec(name))
}

// Flush writes the last uses of keys, which the Rotator batches, to the
// store. Call it once the HTTP server has stopped.
func (s *Server) Flush(ctx context.Context) error {
	return s.rot.Flush(ctx)
}

// spec is what every secret this service creates looks like. HMAC keeps
// the value sealed under the keyring, so that whichever secret is
// designated can sign webhooks.
func (s *Server) spec(name string) rotation.Spec {
	return rotation.Spec{Name: name, HMAC: true, Scopes: allScopes, RateLimit: s.rateLimit}
}

// statusRecorder remembers the status a handler wrote, for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
