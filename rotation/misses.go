package rotation

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/rotorkit/rotor/secrets"
)

// misses remembers digests the store did not know, each for ttl, and at
// most limit of them: when full, the one remembered longest ago is
// forgotten first, so a flood of made-up keys cannot grow it.
type misses struct {
	ttl   time.Duration // 0 remembers nothing
	limit int           // the most remembered at once

	mu   sync.Mutex                   // guards the fields below
	at   map[secrets.Digest]time.Time // when each was found unknown
	ring []secrets.Digest             // in the order they were added
	next int                          // where in ring the next one goes
}

func (m *misses) init(limit int, ttl time.Duration) {
	m.ttl, m.limit = ttl, limit
	m.at = make(map[secrets.Digest]time.Time)
}

// has reports whether d was found unknown less than ttl before now.
func (m *misses) has(d secrets.Digest, now time.Time) bool {
	if m.ttl == 0 {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.at[d]
	return ok && now.Sub(at) < m.ttl
}

// add remembers that d was unknown at now.
func (m *misses) add(d secrets.Digest, now time.Time) {
	if m.ttl == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.at[d]; ok {
		m.at[d] = now // already in the ring
		return
	}
	if len(m.ring) < m.limit {
		m.ring = append(m.ring, d)
	} else {
		delete(m.at, m.ring[m.next])
		m.ring[m.next] = d
		m.next = (m.next + 1) % len(m.ring)
	}
	m.at[d] = now
}

// forget drops d, if it is remembered: it is known now. Its place in the
// ring stays until it comes round, when it drops nothing or, if d was
// added again meanwhile, drops it early, which costs one lookup.
func (m *misses) forget(d secrets.Digest) {
	if m.ttl == 0 {
		return
	}
	m.mu.Lock()
	delete(m.at, d)
	m.mu.Unlock()
}

// lookupCap bounds the store lookups that digests the store does not know
// cause, with a token bucket of a second's worth. A lookup holds a token
// while it runs and spends it only if the digest turns out unknown (or
// the lookup fails): keys the store knows, such as those of owners not
// cached, cost the bucket nothing. Time is the Rotator's clock's,
// passed in.
type lookupCap struct {
	lim *rate.Limiter // nil: no cap

	mu      sync.Mutex // guards running, and makes check-and-hold one step
	running int        // lookups holding a token
}

func (c *lookupCap) init(perSecond int) {
	if perSecond > 0 {
		c.lim = rate.NewLimiter(rate.Limit(perSecond), perSecond)
	}
}

// begin reports whether a lookup may start at now: a token is free for
// it. If so, the caller must call end once the lookup is done.
func (c *lookupCap) begin(now time.Time) bool {
	if c.lim == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lim.TokensAt(now) < float64(c.running+1) {
		return false
	}
	c.running++
	return true
}

// end releases the token of a lookup begun with begin, and spends it at
// now unless the lookup found a key.
func (c *lookupCap) end(now time.Time, found bool) {
	if c.lim == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !found {
		c.lim.AllowN(now, 1)
	}
	c.running--
}
