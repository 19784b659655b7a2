package hmacsign_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
)

// TestOptionsRefused checks that every constructor refuses an option out of
// range with an *OptionError naming it, returns nothing usable with it, and
// does not panic.
func TestOptionsRefused(t *testing.T) {
	v := newVerifier(t, hmacsign.StaticKeys{}, nil)
	owner := func(*http.Request) (string, error) { return "o", nil }
	tests := []struct {
		name  string
		new   func() (any, error)
		field string
	}{
		{"negative tolerance", func() (any, error) {
			return hmacsign.NewVerifier(hmacsign.StaticKeys{}, &hmacsign.VerifierOptions{Tolerance: -time.Second})
		}, "Tolerance"},
		{"a nanosecond below zero tolerance", func() (any, error) {
			return hmacsign.NewVerifier(hmacsign.StaticKeys{}, &hmacsign.VerifierOptions{Tolerance: -1})
		}, "Tolerance"},
		{"nil replay guard", func() (any, error) {
			var g *hmacsign.MemoryReplayGuard
			return hmacsign.NewVerifier(hmacsign.StaticKeys{}, &hmacsign.VerifierOptions{Replay: g})
		}, "Replay"},
		{"zero replay guard", func() (any, error) {
			return hmacsign.NewVerifier(hmacsign.StaticKeys{}, &hmacsign.VerifierOptions{Replay: &hmacsign.MemoryReplayGuard{}})
		}, "Replay"},
		{"negative body limit", func() (any, error) {
			return hmacsign.Middleware(v, owner, &hmacsign.MiddlewareOptions{MaxBody: -1})
		}, "MaxBody"},
		{"negative replay bound", func() (any, error) {
			return hmacsign.NewMemoryReplayGuard(-1, nil)
		}, "max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic for an option out of range: %v", r)
				}
			}()
			got, err := tt.new()
			oe, ok := errors.AsType[*hmacsign.OptionError](err)
			is.True(ok)                                                                // the refusal is an *OptionError
			is.Equal(oe.Field, tt.field)                                               // naming the field at fault
			is.True(oe.Reason != "")                                                   // and saying what is wrong with it
			is.Equal(err.Error(), "hmacsign: invalid option "+tt.field+": "+oe.Reason) // in the package's words
			is.True(!strings.ContainsAny(err.Error(), "0123456789"))                   // without the value
			is.True(isNil(got))                                                        // and nothing half-made comes with it
		})
	}
}

// isNil reports whether x holds a nil pointer or func of the types the
// constructors return.
func isNil(x any) bool {
	switch x := x.(type) {
	case *hmacsign.Verifier:
		return x == nil
	case *hmacsign.MemoryReplayGuard:
		return x == nil
	case func(http.Handler) http.Handler:
		return x == nil
	}
	return x == nil
}

// TestOptionsZeroMeansDefault checks that zero options are accepted and
// mean the documented defaults, which bound everything they govern.
func TestOptionsZeroMeansDefault(t *testing.T) {
	is := is.New(t)
	key := newKey(t, "k", secretA, time.Time{})
	m := sign(t, hmacsign.StaticKeys{key}, nil, t0, "msg_1", payload)

	_, err := hmacsign.NewVerifier(hmacsign.StaticKeys{key}, nil)
	is.NoErr(err) // nil options are defaults
	v, err := hmacsign.NewVerifier(hmacsign.StaticKeys{key}, &hmacsign.VerifierOptions{Now: fixed(t0.Add(hmacsign.DefaultTolerance + time.Nanosecond))})
	is.NoErr(err) // a zero tolerance is accepted
	_, err = v.Verify(t.Context(), "owner", m)
	is.True(errors.Is(err, hmacsign.ErrTimestampTooOld)) // and is DefaultTolerance, not unbounded

	_, err = hmacsign.Middleware(v, ownerFromPath, nil)
	is.NoErr(err) // nil middleware options are defaults
	_, err = hmacsign.Middleware(v, ownerFromPath, &hmacsign.MiddlewareOptions{})
	is.NoErr(err) // so is a zero MaxBody, DefaultMaxBody (see TestMiddlewareDefaultLimit)

	g, err := hmacsign.NewMemoryReplayGuard(0, fixed(t0))
	is.NoErr(err) // a zero bound is accepted
	for i := range hmacsign.DefaultReplayMax + 1 {
		_, _ = g.Seen(t.Context(), "o", strconv.Itoa(i), t0.Add(time.Minute))
	}
	is.Equal(g.Len(), hmacsign.DefaultReplayMax) // and is DefaultReplayMax, not unbounded
}
