package hmacsign

import (
	"container/heap"
	"context"
	"strings"
	"sync"
	"time"
)

// ReplayGuard remembers the messages a [Verifier] accepted, so that the
// same message sent again within the tolerance is refused with
// [ErrReplayed]. A Verifier consults it only after a signature verified, so
// forgeries cannot fill it.
//
// Implementations must be safe for concurrent use; one shared by several
// processes, such as package redisreplay's in Redis, protects them all.
// Package replaytest is the conformance suite that every one passes.
type ReplayGuard interface {
	// Seen records (owner, id) until the instant until and reports whether
	// it was already recorded and not yet expired, as one atomic step. An
	// entry lives up to and including its until; a later until given for
	// an entry extends it, an earlier one does not shorten it.
	//
	// It returns an error, and records nothing, when ctx is done (the
	// context's error, wrapped or not) and when the entries cannot be
	// reached (an error matching [ErrGuardUnavailable], from a guard that
	// fails closed); a Verifier then refuses the message without
	// verdict on its signature.
	Seen(ctx context.Context, owner, id string, until time.Time) (bool, error)
}

// DefaultReplayMax is the bound of a [MemoryReplayGuard] made with max 0.
const DefaultReplayMax = 100_000

// MemoryReplayGuard is a [ReplayGuard] held in memory, bounded to a fixed
// number of entries. Expired entries are dropped as it goes; when it is
// full, the entry that would expire soonest makes room. It starts no
// goroutine.
//
// A MemoryReplayGuard is safe for concurrent use. Its zero value is not
// usable, and [NewVerifier] refuses it; use [NewMemoryReplayGuard].
type MemoryReplayGuard struct {
	now func() time.Time
	max int

	mu     sync.Mutex // guards byKey and expiry
	byKey  map[replayKey]*replayEntry
	expiry replayHeap // the same entries, soonest expiry on top
}

type replayKey struct{ owner, id string }

type replayEntry struct {
	key   replayKey
	until time.Time
	index int // in expiry
}

// NewMemoryReplayGuard returns a guard that holds at most max entries
// ([DefaultReplayMax] if max is 0) and tells expiry by now (time.Now if
// nil). A negative max is refused with an [*OptionError] whose Field is
// "max".
func NewMemoryReplayGuard(max int, now func() time.Time) (*MemoryReplayGuard, error) {
	if max < 0 {
		return nil, &OptionError{Field: "max", Reason: "must not be negative"}
	}
	if max == 0 {
		max = DefaultReplayMax
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryReplayGuard{now: now, max: max, byKey: make(map[replayKey]*replayEntry)}, nil
}

// Seen records (owner, id) until the instant until and reports whether it
// was already recorded and had not expired: an entry lives up to and
// including its until. It fails only when ctx is done, and then records
// nothing.
func (g *MemoryReplayGuard) Seen(ctx context.Context, owner, id string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.expiry) > 0 && now.After(g.expiry[0].until) {
		delete(g.byKey, heap.Pop(&g.expiry).(*replayEntry).key)
	}
	if e, ok := g.byKey[replayKey{owner, id}]; ok {
		if until.After(e.until) {
			e.until = until
			heap.Fix(&g.expiry, e.index)
		}
		return true, nil
	}
	if len(g.expiry) >= g.max {
		delete(g.byKey, heap.Pop(&g.expiry).(*replayEntry).key)
	}
	// Cloned so that an entry does not keep a whole request's memory.
	e := &replayEntry{key: replayKey{strings.Clone(owner), strings.Clone(id)}, until: until}
	g.byKey[e.key] = e
	heap.Push(&g.expiry, e)
	return false, nil
}

// Len returns the number of entries held, expired or not.
func (g *MemoryReplayGuard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.expiry)
}

// replayHeap is a min-heap of entries by until, for container/heap.
type replayHeap []*replayEntry

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h replayHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *replayHeap) Push(x any) {
	e := x.(*replayEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *replayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
