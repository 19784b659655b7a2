package rotationhttp

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// refill is how long an idle bucket takes to fill up: a limit of n a
// minute refills n tokens a minute, and holds at most n.
const refill = time.Minute

// limiters keeps one token bucket per secret id, for per-minute rate
// limits. It holds at most max buckets: those idle for a whole refill are
// dropped first, which loses nothing since a new bucket starts full too;
// past that, the least recently used go, which makes the limit lenient for
// them. It is safe for concurrent use.
type limiters struct {
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

func newLimiters(size int) *limiters {
	return &limiters{max: size, byID: make(map[string]*list.Element)}
}

// perSecond turns a per-minute limit into the rate package's rate.
func perSecond(perMinute int) rate.Limit { return rate.Limit(float64(perMinute) / refill.Seconds()) }

// allow takes one request of the secret id, whose limit is perMinute, at
// now. When the bucket is empty it reports false and how long until a
// request would be allowed.
func (l *limiters) allow(id string, perMinute int, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropIdle(now)
	var b *bucket
	if e, ok := l.byID[id]; ok {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
		if b.lim.Burst() != perMinute {
			b.lim.SetLimitAt(now, perSecond(perMinute))
			b.lim.SetBurstAt(now, perMinute)
		}
	} else {
		b = &bucket{id: id, lim: rate.NewLimiter(perSecond(perMinute), perMinute)}
		l.byID[id] = l.lru.PushFront(b)
		for l.lru.Len() > l.max {
			l.remove(l.lru.Back())
		}
	}
	b.last = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - b.lim.TokensAt(now)
	return false, time.Duration(missing / float64(perSecond(perMinute)) * float64(time.Second))
}

// dropIdle removes the buckets not used for a whole refill, least recently
// used first.
func (l *limiters) dropIdle(now time.Time) {
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		if now.Sub(e.Value.(*bucket).last) < refill {
			return
		}
		l.remove(e)
	}
}

func (l *limiters) remove(e *list.Element) {
	delete(l.byID, e.Value.(*bucket).id)
	l.lru.Remove(e)
}

// len returns how many buckets are kept.
func (l *limiters) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}
