package rotationhttp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

// BenchmarkRequire measures what Require adds to a request: a key let
// through without a rate limit, one let through with a rate limit, and
// an unknown key refused with a 401 (logged to a discarding logger),
// beside the floor, "plain", the same request served by the handler
// without Require. What Require adds is a case's time less the floor's.
func BenchmarkRequire(b *testing.B) {
	clock := rotationtest.NewClock(t0)
	rot, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	// Each request is a second after the last, and a limit of 60 a
	// minute refills one request a second, so the limited key is never
	// refused.
	now := t0
	limiter, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{Now: func() time.Time {
		now = now.Add(time.Second)
		return now
	}})
	if err != nil {
		b.Fatal(err)
	}
	auth, err := rotationhttp.NewAuthenticator(rot, &rotationhttp.Options{Limiter: limiter})
	if err != nil {
		b.Fatal(err)
	}
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	required := auth.Require("secrets:read", plain)
	key := func(spec rotation.Spec) string {
		spec.Scopes = readScope
		iss, err := rot.Create(b.Context(), "acme", spec)
		if err != nil {
			b.Fatal(err)
		}
		return iss.Value.Reveal()
	}
	unknown, err := rotation.DefaultFormat.Generate()
	if err != nil {
		b.Fatal(err)
	}
	nolimit := key(rotation.Spec{})
	for _, bm := range []struct {
		name string
		h    http.Handler
		key  string
		want int
	}{
		{"plain", plain, nolimit, http.StatusNoContent},
		{"nolimit", required, nolimit, http.StatusNoContent},
		{"limit", required, key(rotation.Spec{RateLimit: 60}), http.StatusNoContent},
		{"refused", required, unknown.Reveal(), http.StatusUnauthorized},
	} {
		b.Run(bm.name, func(b *testing.B) {
			r := httptest.NewRequestWithContext(b.Context(), http.MethodGet, "/v1/secrets/sec_nosuchsecretnosuchsecretxx", nil)
			r.Header.Set("Authorization", "Bearer "+bm.key)
			w := &statusWriter{header: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				bm.h.ServeHTTP(w, r)
				if w.status != bm.want {
					b.Fatalf("status %d, want %d", w.status, bm.want)
				}
			}
		})
	}
}

// BenchmarkDecodeJSON measures the strict decoding of a create request
// against its floor, encoding/json alone with DisallowUnknownFields.
func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(`{"api_token": {"name": "ci", "rate_limit": 60, "scopes": ["a", "b"], "metadata": {"k": "v"}},
		"items": [{"id": 1}, {"id": 2}], "labels": {"red": {"colour": "#f00"}}}`)
	b.Run("rotationhttp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v createRequest
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			if err := rotationhttp.DecodeJSON(r, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v createRequest
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			dec := json.NewDecoder(r.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFailureFor measures the mapping of the errors a busy service
// meets most: a refused key, and a store that is down.
func BenchmarkFailureFor(b *testing.B) {
	for _, bm := range []struct {
		name string
		err  error
	}{
		{"invalid-key", &rotation.AuthError{Err: rotation.ErrInvalidKey}},
		{"store-down", fmt.Errorf("list: %w", &store.OpError{Op: "load", Owner: "acme", Err: errors.New("connection refused")})},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if f := rotationhttp.FailureFor(bm.err); f.Status == 0 {
					b.Fatal("no status")
				}
			}
		})
	}
}

// statusWriter is a ResponseWriter that keeps only the status, so the
// benchmark measures the middleware rather than a recorder.
type statusWriter struct {
	header http.Header
	status int
}

func (w *statusWriter) Header() http.Header         { return w.header }
func (w *statusWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *statusWriter) WriteHeader(status int)      { w.status = status }
