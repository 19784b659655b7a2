package hmacsign_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/secrets"
)

// t0 is the instant most tests start at.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Secrets used across the tests. Made up; never printed by rotor.
const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"             // the Standard Webhooks vector's
	secretB = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=" // 32 bytes 1..32
	secretC = "rtr_test_not_a_real_key_0123456789abcdef"           // not a whsec_ secret
)

// clock is a time source for tests that moves only when told to. It is
// safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// fixed returns a clock that always says t.
func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// unix returns the instant sec seconds after the Unix epoch.
func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// newKey returns a key or fails t.
func newKey(t testing.TB, id, secret string, expiresAt time.Time) hmacsign.Key {
	t.Helper()
	k, err := hmacsign.NewKey(id, secrets.NewValue(secret), expiresAt)
	if err != nil {
		t.Fatalf("NewKey(%q): %v", id, err)
	}
	return k
}

// newVerifier returns a verifier or fails t.
func newVerifier(t testing.TB, keys hmacsign.KeySource, opts *hmacsign.VerifierOptions) *hmacsign.Verifier {
	t.Helper()
	v, err := hmacsign.NewVerifier(keys, opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// newGuard returns a replay guard or fails t.
func newGuard(t testing.TB, max int, now func() time.Time) *hmacsign.MemoryReplayGuard {
	t.Helper()
	g, err := hmacsign.NewMemoryReplayGuard(max, now)
	if err != nil {
		t.Fatalf("NewMemoryReplayGuard: %v", err)
	}
	return g
}

// newMiddleware returns v's middleware or fails t.
func newMiddleware(t testing.TB, v *hmacsign.Verifier, owner func(*http.Request) (string, error), opts *hmacsign.MiddlewareOptions) func(http.Handler) http.Handler {
	t.Helper()
	mw, err := hmacsign.Middleware(v, owner, opts)
	if err != nil {
		t.Fatalf("Middleware: %v", err)
	}
	return mw
}

// headerOf returns a new header that carries m, as s sets it.
func headerOf(s *hmacsign.Signer, m hmacsign.Message) http.Header {
	h := http.Header{}
	s.SetHeaders(h, m)
	return h
}

// failingSource is a KeySource that fails with err.
type failingSource struct{ err error }

func (f failingSource) SigningKeys(context.Context, string) ([]hmacsign.Key, error) {
	return nil, f.err
}

func (f failingSource) VerifyingKeys(context.Context, string) ([]hmacsign.Key, error) {
	return nil, f.err
}

// ownerKeys is a KeySource that gives each owner its own keys.
type ownerKeys map[string][]hmacsign.Key

func (o ownerKeys) SigningKeys(_ context.Context, owner string) ([]hmacsign.Key, error) {
	return o[owner], nil
}

func (o ownerKeys) VerifyingKeys(_ context.Context, owner string) ([]hmacsign.Key, error) {
	return o[owner], nil
}

// allSchemes names every scheme, for tests that must hold for each.
var allSchemes = []struct {
	name   string
	scheme hmacsign.Scheme
}{
	{"standard webhooks", hmacsign.StandardWebhooks},
	{"stripe", hmacsign.Stripe},
	{"github", hmacsign.GitHub},
}
