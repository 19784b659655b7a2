// Package ratelimittest is the conformance suite for implementations of
// [ratelimit.Limiter], in the manner of store/storetest and
// [testing/slogtest.Run].
//
// A backend's test calls [Run] with a function that returns a new limiter
// whose clock is the one given, and which shares no buckets with the
// limiters made before it (a fresh prefix of keys, for a shared server):
//
//	func TestConformance(t *testing.T) {
//		ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
//			lim, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{Now: now})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return lim
//		})
//	}
//
// The constructor may call t.Fatal and register cleanups on t, which
// belongs to the case that asked for the limiter.
//
// # What it checks
//
// Each promise of [ratelimit.Limiter.Allow], one named subtest at a time:
// a key limited to n admits exactly n requests at one instant and then
// refuses, saying how long until the next one (minute/n); a refused
// request takes nothing; the bucket refills evenly, one request every
// minute/n, and never holds more than n, however long the key was idle;
// a request made as much later as it was told is allowed; keys are apart,
// also those whose ids look alike or hold the characters a backend may use
// to build names (":", "*", "{", NUL); a limit that changes holds within a
// minute; a large limit admits what it says; 32 goroutines racing on one
// key get exactly its limit, and racing on a key each get each key's
// limit; a done context is an error that matches the context's and takes
// nothing; and an empty id or a limit that is not positive is the
// [*ratelimit.OptionError] of [ratelimit.CheckArgs], taking nothing. Run
// it under -race.
package ratelimittest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/rotationtest"
)

// Callers is how many goroutines the concurrency checks race.
const Callers = 32

// base is where each check's clock starts.
var base = time.Date(2026, time.March, 14, 9, 26, 53, 0, time.UTC)

// Run checks that the limiters made by newLimiter keep every promise of
// [ratelimit.Limiter]. Each check is a subtest of t named after what it
// checks, and asks newLimiter for a new limiter whose clock is now, a
// clock the check steps; newLimiter may call t.Fatal and t.Cleanup on the
// t it is given. Run waits for every goroutine it starts before it
// returns.
func Run(t *testing.T, newLimiter func(t *testing.T, now func() time.Time) ratelimit.Limiter) {
	t.Helper()
	checks := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"Burst", testBurst},
		{"RefusalTakesNothing", testRefusalTakesNothing},
		{"RefillsEvenly", testRefillsEvenly},
		{"HoldsAtMostTheLimit", testHoldsAtMostTheLimit},
		{"RetryAfterIsEnough", testRetryAfterIsEnough},
		{"KeysApart", testKeysApart},
		{"LimitChanges", testLimitChanges},
		{"LargeLimit", testLargeLimit},
		{"ConcurrentOneKey", testConcurrentOneKey},
		{"ConcurrentKeys", testConcurrentKeys},
		{"DoneContext", testDoneContext},
		{"InvalidArguments", testInvalidArguments},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			clock := rotationtest.NewClock(base)
			lim := newLimiter(t, clock.Now)
			if lim == nil {
				t.Fatal("ratelimittest: newLimiter returned a nil limiter")
			}
			c.run(t, &harness{t: t, lim: lim, clock: clock})
		})
	}
}

// harness is one check's limiter and clock.
type harness struct {
	t     *testing.T
	lim   ratelimit.Limiter
	clock *rotationtest.Clock
}

// allow takes a request of id and fails the check on an error.
func (h *harness) allow(id string, n int) (bool, time.Duration) {
	h.t.Helper()
	ok, wait, err := h.lim.Allow(h.t.Context(), id, n)
	if err != nil {
		h.t.Fatalf("Allow(%q, %d): %v", id, n, err)
	}
	if ok && wait != 0 {
		h.t.Errorf("Allow(%q, %d) allowed, with a retry after %v; want 0", id, n, wait)
	}
	if !ok && wait <= 0 {
		h.t.Errorf("Allow(%q, %d) refused, with a retry after %v; want it positive", id, n, wait)
	}
	return ok, wait
}

// take makes count requests of id at the clock's instant and returns how
// many were allowed and the retry-after of the last refusal.
func (h *harness) take(id string, n, count int) (allowed int, wait time.Duration) {
	h.t.Helper()
	for range count {
		ok, w := h.allow(id, n)
		if ok {
			allowed++
		} else {
			wait = w
		}
	}
	return allowed, wait
}

// interval is how long a limit of n takes to refill one request.
func interval(n int) time.Duration { return time.Minute / time.Duration(n) }

func testBurst(t *testing.T, h *harness) {
	for _, n := range []int{1, 3, 60} {
		id := fmt.Sprintf("sec_burst%d", n)
		got, wait := h.take(id, n, n+5)
		if got != n {
			t.Errorf("limit %d: %d of %d requests at one instant allowed, want exactly the limit", n, got, n+5)
		}
		if wait != interval(n) {
			t.Errorf("limit %d: told to retry after %v, want %v, the time one request takes to refill", n, wait, interval(n))
		}
	}
}

func testRefusalTakesNothing(t *testing.T, h *harness) {
	const n = 2
	if got, _ := h.take("sec_a", n, n); got != n {
		t.Fatalf("%d of the first %d requests allowed, want all", got, n)
	}
	for i := range 20 {
		h.clock.Advance(time.Second)
		if ok, wait := h.allow("sec_a", n); ok || wait != interval(n)-time.Duration(i+1)*time.Second {
			t.Fatalf("refusal %d: allowed %v, retry after %v; want a refusal whose wait shrinks with the clock, as refusals take nothing", i, ok, wait)
		}
	}
	h.clock.Advance(interval(n) - 20*time.Second)
	if got, _ := h.take("sec_a", n, 3); got != 1 {
		t.Errorf("%d requests allowed once one had refilled, want 1: refusals must not have delayed the refill", got)
	}
}

func testRefillsEvenly(t *testing.T, h *harness) {
	const n = 4 // a request every 15 s
	if got, _ := h.take("sec_a", n, n); got != n {
		t.Fatalf("%d of the first %d requests allowed, want all", got, n)
	}
	h.clock.Advance(interval(n) - time.Millisecond)
	if ok, _ := h.allow("sec_a", n); ok {
		t.Errorf("a request allowed before one had refilled")
	}
	h.clock.Advance(time.Millisecond)
	if got, _ := h.take("sec_a", n, 3); got != 1 {
		t.Errorf("%d requests allowed a quarter of a minute later, want 1", got)
	}
	h.clock.Advance(2 * interval(n))
	if got, _ := h.take("sec_a", n, 5); got != 2 {
		t.Errorf("%d requests allowed after two more quarters, want 2", got)
	}
	h.clock.Advance(time.Minute)
	if got, _ := h.take("sec_a", n, n+3); got != n {
		t.Errorf("%d requests allowed after a whole minute, want the whole limit, %d", got, n)
	}
}

func testHoldsAtMostTheLimit(t *testing.T, h *harness) {
	const n = 5
	h.take("sec_a", n, 1)
	h.clock.Advance(24 * time.Hour)
	if got, _ := h.take("sec_a", n, 2*n); got != n {
		t.Errorf("%d requests allowed after a day idle, want the limit, %d: a bucket holds no more", got, n)
	}
	if got, _ := h.take("sec_new", n, 2*n); got != n {
		t.Errorf("%d requests allowed of a key never seen, want the limit, %d", got, n)
	}
}

func testRetryAfterIsEnough(t *testing.T, h *harness) {
	for _, n := range []int{1, 2, 3, 7, 11, 60, 1000} {
		id := fmt.Sprintf("sec_retry%d", n)
		if got, _ := h.take(id, n, n); got != n {
			t.Fatalf("limit %d: %d of the first %d requests allowed, want all", n, got, n)
		}
		// From a partly refilled bucket too.
		h.clock.Advance(interval(n) / 3)
		ok, wait := h.allow(id, n)
		if ok {
			t.Fatalf("limit %d: allowed a third of a refill later", n)
		}
		if wait > interval(n) || wait < interval(n)/2 {
			t.Errorf("limit %d: told to retry after %v, a third of %v later; want two thirds of it", n, wait, interval(n))
		}
		h.clock.Advance(wait - time.Millisecond)
		if ok, _ := h.allow(id, n); ok {
			t.Errorf("limit %d: allowed a millisecond before the retry-after it gave", n)
		}
		h.clock.Advance(time.Millisecond)
		if ok, _ := h.allow(id, n); !ok {
			t.Errorf("limit %d: refused once the retry-after it gave had passed", n)
		}
	}
}

func testKeysApart(t *testing.T, h *harness) {
	ids := []string{"sec_a", "sec_b", "sec_a:", "sec_a:b", "sec_a*", "*", "{sec_a}", "sec_a\x00", "sec_ä", strings.Repeat("x", 1000)}
	const n = 2
	if got, _ := h.take(ids[0], n, n+1); got != n {
		t.Fatalf("%d of %d requests of %q allowed, want %d", got, n+1, ids[0], n)
	}
	for _, id := range ids[1:] {
		if got, _ := h.take(id, n, n+1); got != n {
			t.Errorf("%d of %d requests of %q allowed after another key used its budget, want %d: keys are apart", got, n+1, id, n)
		}
	}
}

func testLimitChanges(t *testing.T, h *harness) {
	h.take("sec_up", 2, 2)
	h.take("sec_down", 60, 1)
	h.clock.Advance(time.Minute)
	if got, _ := h.take("sec_up", 4, 6); got != 4 {
		t.Errorf("%d requests allowed a minute after the limit rose from 2 to 4, want 4", got)
	}
	if got, _ := h.take("sec_down", 1, 3); got != 1 {
		t.Errorf("%d requests allowed a minute after the limit fell from 60 to 1, want 1", got)
	}
}

func testLargeLimit(t *testing.T, h *harness) {
	const n = 1_000_000
	if got, _ := h.take("sec_large", n, 500); got != 500 {
		t.Errorf("%d of 500 requests allowed of a key limited to a million a minute, want all", got)
	}
}

func testConcurrentOneKey(t *testing.T, h *harness) {
	const n, each = 20, 4
	var allowed, refused atomic.Int64
	errs := make(chan error, Callers*each)
	ctx := t.Context()
	var wg sync.WaitGroup
	for range Callers {
		wg.Go(func() {
			for range each {
				ok, _, err := h.lim.Allow(ctx, "sec_shared", n)
				switch {
				case err != nil:
					errs <- err
				case ok:
					allowed.Add(1)
				default:
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Allow: %v", err)
	}
	if allowed.Load() != n || refused.Load() != Callers*each-n {
		t.Errorf("%d goroutines racing on one key limited to %d: %d allowed, %d refused; want exactly the limit allowed",
			Callers, n, allowed.Load(), refused.Load())
	}
}

func testConcurrentKeys(t *testing.T, h *harness) {
	const n, each = 3, 5
	allowed := make([]int, Callers)
	errs := make([]error, Callers)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range Callers {
		wg.Go(func() {
			for range each {
				ok, _, err := h.lim.Allow(ctx, fmt.Sprintf("sec_key%d", g), n)
				if err != nil {
					errs[g] = err
					return
				}
				if ok {
					allowed[g]++
				}
			}
		})
	}
	wg.Wait()
	for g := range Callers {
		if errs[g] != nil {
			t.Errorf("key %d: %v", g, errs[g])
		} else if allowed[g] != n {
			t.Errorf("key %d: %d of %d requests allowed, want its limit, %d", g, allowed[g], each, n)
		}
	}
}

func testDoneContext(t *testing.T, h *harness) {
	const n = 2
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, stop := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer stop()
	for _, tc := range []struct {
		ctx  context.Context
		want error
	}{{cancelled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		for range 2 * n {
			ok, _, err := h.lim.Allow(tc.ctx, "sec_a", n)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Allow with a done context: %v, want an error matching %v", err, tc.want)
			}
			if errors.Is(err, ratelimit.ErrUnavailable) {
				t.Errorf("Allow with a done context: %v matches ErrUnavailable; a done context is the caller's, not the backend's", err)
			}
			if ok {
				t.Errorf("Allow with a done context allowed the request")
			}
		}
	}
	if got, _ := h.take("sec_a", n, n+1); got != n {
		t.Errorf("%d requests allowed after calls with done contexts, want the whole limit, %d: they must take nothing", got, n)
	}
}

func testInvalidArguments(t *testing.T, h *harness) {
	for _, tc := range []struct {
		id    string
		n     int
		field string
	}{
		{"sec_a", 0, "perMinute"},
		{"sec_a", -1, "perMinute"},
		{"", 5, "id"},
	} {
		ok, _, err := h.lim.Allow(t.Context(), tc.id, tc.n)
		oe, isOption := errors.AsType[*ratelimit.OptionError](err)
		if !isOption || oe.Field != tc.field {
			t.Errorf("Allow(%q, %d): %v, want a *ratelimit.OptionError naming %s", tc.id, tc.n, err, tc.field)
		}
		if ok {
			t.Errorf("Allow(%q, %d) allowed the request", tc.id, tc.n)
		}
	}
	if got, _ := h.take("sec_a", 1, 2); got != 1 {
		t.Errorf("%d requests allowed after refused arguments, want the whole limit: they must take nothing", got)
	}
}
