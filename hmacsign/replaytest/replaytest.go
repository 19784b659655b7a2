// Package replaytest is the conformance suite for implementations of
// [hmacsign.ReplayGuard], in the manner of store/storetest and
// [testing/slogtest.Run].
//
// A guard's test calls [Run] with a function that returns a [Harness]: a
// new guard that shares no entries with those made before it (a fresh
// prefix of keys, for a shared server), and its clock:
//
//	func TestConformance(t *testing.T) {
//		replaytest.Run(t, func(t *testing.T) replaytest.Harness {
//			clock := newClock(start)
//			g, err := hmacsign.NewMemoryReplayGuard(0, clock.Now)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return replaytest.Harness{Guard: g, Now: clock.Now, Advance: clock.Advance}
//		})
//	}
//
// A guard whose expiry is a server's, such as Redis keys that expire on
// the server's clock, cannot be stepped: its Harness has no Advance, and
// the checks that step through an expiry are skipped, while those that
// need only instants already past run.
//
// # What it checks
//
// Each promise of [hmacsign.ReplayGuard.Seen], one named subtest at a
// time: a message is new once and then seen; owners, ids, and pairs whose
// text runs together alike ("a:b"+"c" and "a"+"b:c", empty ones, NUL,
// long ones) are apart; an entry whose until has passed is new again, one
// whose until is past when recorded is never seen; with a clock to step,
// an entry lives up to and including its until and not a nanosecond more,
// a later until extends it and an earlier one does not shorten it; 32
// goroutines racing on one message see it new exactly once, and racing
// on many see each new exactly once; and a done context is an error that
// matches the context's and records nothing. Run it under -race.
package replaytest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
)

// Callers is how many goroutines the concurrency checks race.
const Callers = 32

// Harness is a guard under test and its clock.
type Harness struct {
	// Guard is a new guard, sharing no entries with others.
	Guard hmacsign.ReplayGuard
	// Now returns the instant of the guard's clock, the one it tells
	// expiry by: for a guard kept in a server, the server's.
	Now func() time.Time
	// Advance moves the guard's clock forward by d. Nil for a guard whose
	// clock cannot be stepped, such as a server's.
	Advance func(d time.Duration)
}

// Run checks that the guards newGuard makes keep every promise of
// [hmacsign.ReplayGuard]. Each check is a subtest of t named after what
// it checks, and asks newGuard for a new Harness; newGuard may call
// t.Fatal and t.Cleanup on the t it is given. Run waits for every
// goroutine it starts before it returns.
func Run(t *testing.T, newGuard func(t *testing.T) Harness) {
	t.Helper()
	checks := []struct {
		name  string
		steps bool // needs Advance
		run   func(t *testing.T, h *harness)
	}{
		{"NewThenSeen", false, testNewThenSeen},
		{"OwnersAndIDsApart", false, testApart},
		{"PastUntilIsNeverSeen", false, testPastUntil},
		{"LivesUntilItsUntil", true, testLivesUntilItsUntil},
		{"LaterUntilExtends", true, testLaterUntilExtends},
		{"EarlierUntilKeeps", true, testEarlierUntilKeeps},
		{"ConcurrentOneMessage", false, testConcurrentOneMessage},
		{"ConcurrentMessages", false, testConcurrentMessages},
		{"DoneContext", false, testDoneContext},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			hs := newGuard(t)
			if hs.Guard == nil || hs.Now == nil {
				t.Fatal("replaytest: newGuard returned a Harness without a Guard or a Now")
			}
			if c.steps && hs.Advance == nil {
				t.Skip("the guard's clock cannot be stepped")
			}
			c.run(t, &harness{t: t, Harness: hs})
		})
	}
}

// harness is one check's guard.
type harness struct {
	t *testing.T
	Harness
}

// seen asks the guard and fails the check on an error.
func (h *harness) seen(owner, id string, until time.Time) bool {
	h.t.Helper()
	seen, err := h.Guard.Seen(h.t.Context(), owner, id, until)
	if err != nil {
		h.t.Fatalf("Seen(%q, %q): %v", owner, id, err)
	}
	return seen
}

// later is an until that no check outlives unless it steps past it.
func (h *harness) later() time.Time { return h.Now().Add(time.Hour) }

func testNewThenSeen(t *testing.T, h *harness) {
	until := h.later()
	if h.seen("acme", "msg_1", until) {
		t.Errorf("a first message is seen, want new")
	}
	for i := range 3 {
		if !h.seen("acme", "msg_1", until) {
			t.Errorf("the same message, again (%d), is new, want seen", i+1)
		}
	}
}

func testApart(t *testing.T, h *harness) {
	until := h.later()
	long := strings.Repeat("m", 10_000)
	pairs := [][2]string{
		{"acme", "msg_1"},
		{"acme", "msg_2"},
		{"globex", "msg_1"},
		{"a:b", "c"}, {"a", "b:c"}, {"a:", "bc"}, {"ab", ":c"},
		{"", "acme"}, {"acme", ""}, {"", ""},
		{"a\x00b", "c"}, {"a", "\x00bc"},
		{"acme", "mac:" + strings.Repeat("ab", 32)},
		{"acme", long}, {"acme", long + "n"},
		{"äcme", "msg_1"},
	}
	for _, p := range pairs {
		if h.seen(p[0], p[1], until) {
			t.Errorf("owner %q, id %q (%d bytes): seen at first, want new: another pair's entry stands for it", p[0], shown(p[1]), len(p[1]))
		}
	}
	for _, p := range pairs {
		if !h.seen(p[0], p[1], until) {
			t.Errorf("owner %q, id %q (%d bytes): new the second time, want seen", p[0], shown(p[1]), len(p[1]))
		}
	}
}

// shown returns id, or its start if it is long.
func shown(id string) string {
	if len(id) > 40 {
		return id[:40] + "…"
	}
	return id
}

func testPastUntil(t *testing.T, h *harness) {
	past := h.Now().Add(-time.Second)
	for i := range 3 {
		if h.seen("acme", "msg_old", past) {
			t.Errorf("a message recorded until an instant already past is seen (%d), want new: its entry has expired", i+1)
		}
	}
	if h.seen("acme", "msg_old", h.later()) {
		t.Errorf("a message recorded only until a past instant is seen once recorded for later, want new")
	}
	if !h.seen("acme", "msg_old", h.later()) {
		t.Errorf("then seen, want it to be")
	}
}

func testLivesUntilItsUntil(t *testing.T, h *harness) {
	until := h.Now().Add(5 * time.Minute)
	h.seen("acme", "msg_1", until)
	h.Advance(5*time.Minute - time.Millisecond)
	if !h.seen("acme", "msg_1", until) {
		t.Errorf("new a millisecond before its until, want seen")
	}
	h.Advance(time.Millisecond)
	if !h.seen("acme", "msg_1", until) {
		t.Errorf("new at its until, want seen: an entry lives up to and including it")
	}
	h.Advance(time.Millisecond)
	if h.seen("acme", "msg_1", until.Add(time.Minute)) {
		t.Errorf("seen after its until, want new")
	}
}

func testLaterUntilExtends(t *testing.T, h *harness) {
	first := h.Now().Add(time.Minute)
	h.seen("acme", "msg_1", first)
	if !h.seen("acme", "msg_1", first.Add(time.Hour)) {
		t.Fatalf("new the second time, want seen")
	}
	h.Advance(2 * time.Minute)
	if !h.seen("acme", "msg_1", first.Add(time.Hour)) {
		t.Errorf("new past its first until, want seen: the second, later, until extends the entry")
	}
}

func testEarlierUntilKeeps(t *testing.T, h *harness) {
	first := h.Now().Add(time.Hour)
	h.seen("acme", "msg_1", first)
	h.seen("acme", "msg_1", h.Now().Add(time.Minute))
	h.Advance(2 * time.Minute)
	if !h.seen("acme", "msg_1", first) {
		t.Errorf("new past a second, earlier, until, want seen: it must not shorten the entry")
	}
}

func testConcurrentOneMessage(t *testing.T, h *harness) {
	until := h.later()
	var fresh atomic.Int64
	errs := make(chan error, Callers)
	ctx := t.Context()
	var wg sync.WaitGroup
	for range Callers {
		wg.Go(func() {
			seen, err := h.Guard.Seen(ctx, "acme", "msg_raced", until)
			switch {
			case err != nil:
				errs <- err
			case !seen:
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Seen: %v", err)
	}
	if fresh.Load() != 1 {
		t.Errorf("%d goroutines racing with one message: %d saw it new, want exactly one", Callers, fresh.Load())
	}
}

func testConcurrentMessages(t *testing.T, h *harness) {
	until := h.later()
	const ids = 40
	var fresh [ids]atomic.Int64
	errs := make(chan error, Callers*ids)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range Callers {
		wg.Go(func() {
			for i := range ids {
				id := (g + i) % ids // each goroutine in its own order
				seen, err := h.Guard.Seen(ctx, "acme", fmt.Sprint("msg_", id), until)
				switch {
				case err != nil:
					errs <- err
				case !seen:
					fresh[id].Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Seen: %v", err)
	}
	for id := range fresh {
		if n := fresh[id].Load(); n != 1 {
			t.Errorf("message %d, raced by %d goroutines: new %d times, want exactly once", id, Callers, n)
		}
	}
}

func testDoneContext(t *testing.T, h *harness) {
	until := h.later()
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, stop := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer stop()
	for _, tc := range []struct {
		ctx  context.Context
		want error
	}{{cancelled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		for range 2 {
			seen, err := h.Guard.Seen(tc.ctx, "acme", "msg_1", until)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Seen with a done context: %v, want an error matching %v", err, tc.want)
			}
			if errors.Is(err, hmacsign.ErrGuardUnavailable) {
				t.Errorf("Seen with a done context: %v matches ErrGuardUnavailable; a done context is the caller's, not the backend's", err)
			}
			if seen {
				t.Errorf("Seen with a done context reported the message seen")
			}
		}
	}
	if h.seen("acme", "msg_1", until) {
		t.Errorf("a message asked about only with done contexts is seen, want new: they must record nothing")
	}
}
