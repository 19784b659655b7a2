package ratelimit

import (
	"container/list"
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is how many keys' buckets a [Memory] keeps when
// [MemoryOptions].MaxKeys is zero.
const DefaultMaxKeys = 10000

// refill is how long an empty bucket takes to fill up: a limit of n a
// minute refills n tokens a minute, and holds at most n.
const refill = time.Minute

// MemoryOptions configures a [Memory]. A nil *MemoryOptions, and every
// zero field, means the default.
type MemoryOptions struct {
	// Now is the clock of the buckets. Nil means time.Now. Tests pass the
	// Rotator's clock, such as rotationtest.Clock.Now, to step through a
	// minute without waiting.
	Now func() time.Time

	// MaxKeys bounds how many keys' buckets are kept at once. Buckets of
	// keys idle for a minute are dropped first, which loses nothing,
	// since a new bucket starts full too; past the bound the least
	// recently used are dropped, which gives those keys a fresh minute.
	// Zero means [DefaultMaxKeys]; it must not be negative.
	MaxKeys int
}

// Memory is the in-process [Limiter]: one token bucket of
// golang.org/x/time/rate per key id, in a bounded cache. It is the
// limiter of a service that runs as one process; replicas that must share
// budgets use a shared one, such as package redislimit's.
//
// A Memory is safe for concurrent use and starts no goroutines. Its zero
// value is a limiter with the defaults; [NewMemory] sets options.
type Memory struct {
	now func() time.Time
	max int

	mu   sync.Mutex // guards byID and lru
	byID map[string]*list.Element
	lru  list.List // of *bucket, most recently used at the front
}

// bucket is one key's limiter; its burst is the key's per-minute limit.
type bucket struct {
	id   string
	lim  *rate.Limiter
	last time.Time // of the latest request, allowed or not
}

// NewMemory returns an in-process limiter. A nil opts means the defaults;
// it is copied. An option out of range is an [*OptionError].
func NewMemory(opts *MemoryOptions) (*Memory, error) {
	var o MemoryOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxKeys < 0 {
		return nil, &OptionError{Field: "MaxKeys", Reason: "must not be negative"}
	}
	return &Memory{now: o.Now, max: o.MaxKeys}, nil
}

// perSecond turns a per-minute limit into the rate package's rate.
func perSecond(perMinute int) rate.Limit { return rate.Limit(float64(perMinute) / refill.Seconds()) }

// Allow takes one request of the key id, limited to perMinute requests a
// minute, at the instant of the limiter's clock, as [Limiter] says. It
// fails only for a done ctx and for the arguments [CheckArgs] refuses,
// and then takes nothing.
func (m *Memory) Allow(ctx context.Context, id string, perMinute int) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	if err := CheckArgs(id, perMinute); err != nil {
		return false, 0, err
	}
	now := time.Now
	if m.now != nil {
		now = m.now
	}
	return m.allowAt(id, perMinute, now())
}

func (m *Memory) allowAt(id string, perMinute int, now time.Time) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byID == nil {
		m.byID = make(map[string]*list.Element)
	}
	m.dropIdle(now)
	var b *bucket
	if e, ok := m.byID[id]; ok {
		m.lru.MoveToFront(e)
		b = e.Value.(*bucket)
		if b.lim.Burst() != perMinute {
			b.lim.SetLimitAt(now, perSecond(perMinute))
			b.lim.SetBurstAt(now, perMinute)
		}
	} else {
		// Cloned so that a bucket does not keep a whole request's memory.
		b = &bucket{id: strings.Clone(id), lim: rate.NewLimiter(perSecond(perMinute), perMinute)}
		m.byID[b.id] = m.lru.PushFront(b)
		for m.lru.Len() > m.bound() {
			m.remove(m.lru.Back())
		}
	}
	b.last = now
	if b.lim.AllowN(now, 1) {
		return true, 0, nil
	}
	return false, retryAfter(1-b.lim.TokensAt(now), perMinute), nil
}

// retryAfter returns how long a bucket that misses the tokens missing
// takes to refill them at perMinute a minute: rounded up to the
// microsecond, so that a request made that much later is allowed,
// unless the rounding would only undo the float arithmetic's error.
func retryAfter(missing float64, perMinute int) time.Duration {
	us := missing / float64(perSecond(perMinute)) * 1e6
	return time.Duration(math.Ceil(us-1e-3)) * time.Microsecond
}

func (m *Memory) bound() int {
	if m.max == 0 {
		return DefaultMaxKeys
	}
	return m.max
}

// dropIdle removes the buckets not used for a whole refill, least recently
// used first.
func (m *Memory) dropIdle(now time.Time) {
	for e := m.lru.Back(); e != nil; e = m.lru.Back() {
		if now.Sub(e.Value.(*bucket).last) < refill {
			return
		}
		m.remove(e)
	}
}

func (m *Memory) remove(e *list.Element) {
	delete(m.byID, e.Value.(*bucket).id)
	m.lru.Remove(e)
}

// Len returns how many keys' buckets are kept, for a service's metrics
// and for tests of the bound.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}
