package ratelimit_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/ratelimit/ratelimittest"
	"github.com/rotorkit/rotor/rotation/rotationtest"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func TestMemoryConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
		return newMemory(t, &ratelimit.MemoryOptions{Now: now})
	})
}

func TestMemoryConformanceBounded(t *testing.T) {
	// A bound above what the suite uses at once changes nothing it sees.
	ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
		return newMemory(t, &ratelimit.MemoryOptions{Now: now, MaxKeys: 40})
	})
}

func newMemory(t *testing.T, opts *ratelimit.MemoryOptions) *ratelimit.Memory {
	t.Helper()
	m, err := ratelimit.NewMemory(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMemoryIsBounded(t *testing.T) {
	is := is.New(t)
	clock := rotationtest.NewClock(t0)
	m := newMemory(t, &ratelimit.MemoryOptions{Now: clock.Now, MaxKeys: 3})
	allow := func(id string) bool {
		ok, _, err := m.Allow(t.Context(), id, 1)
		is.NoErr(err) // an in-process limiter never fails
		return ok
	}
	for i := range 5 {
		is.True(allow(fmt.Sprint("sec_", i))) // each key's first request
	}
	is.Equal(m.Len(), 3) // no more buckets than the bound

	is.True(!allow("sec_4")) // a kept bucket still limits
	is.True(allow("sec_0"))  // a dropped one, the least recently used, starts full again

	clock.Advance(time.Minute)
	is.True(allow("sec_1"))
	is.Equal(m.Len(), 1) // after a minute the idle buckets are gone
}

func TestMemoryZeroValue(t *testing.T) {
	is := is.New(t)
	var m ratelimit.Memory
	ok, _, err := m.Allow(t.Context(), "sec_a", 1)
	is.NoErr(err) // the zero value is a limiter with the defaults
	is.True(ok)   // that allows a first request
	ok, wait, err := m.Allow(t.Context(), "sec_a", 1)
	is.NoErr(err)
	is.True(!ok)                                          // and limits the second
	is.True(wait > 59*time.Second && wait <= time.Minute) // on the real clock
}

func TestNewMemoryRejects(t *testing.T) {
	is := is.New(t)
	m, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{MaxKeys: -1})
	is.True(m == nil) // nothing is made
	oe, ok := errors.AsType[*ratelimit.OptionError](err)
	is.True(ok)                                                                      // an option error
	is.Equal(oe.Field, "MaxKeys")                                                    // naming the option
	is.Equal(err.Error(), "ratelimit: invalid option MaxKeys: must not be negative") // and saying why
}

func TestNewMemoryCopiesOptions(t *testing.T) {
	is := is.New(t)
	clock := rotationtest.NewClock(t0)
	opts := &ratelimit.MemoryOptions{Now: clock.Now, MaxKeys: 1}
	m := newMemory(t, opts)
	opts.MaxKeys, opts.Now = 100, nil
	for _, id := range []string{"sec_a", "sec_b"} {
		_, _, err := m.Allow(t.Context(), id, 1)
		is.NoErr(err)
	}
	is.Equal(m.Len(), 1) // the bound given at construction holds
}
