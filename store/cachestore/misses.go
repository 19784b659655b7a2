package cachestore

import (
	"sync"
	"time"

	"github.com/rotorkit/rotor/secrets"
)

// misses remembers digests the inner store did not know, each for ttl,
// and at most max of them: when full, the one remembered longest ago is
// forgotten first, so a flood of made-up keys cannot grow it.
type misses struct {
	ttl   time.Duration // 0 remembers nothing
	limit int           // the most remembered at once

	mu   sync.Mutex
	at   map[secrets.Digest]time.Time // when each was found unknown
	ring []secrets.Digest             // in the order they were added
	next int                          // where in ring the next one goes
}

func (m *misses) init(max int, ttl time.Duration) {
	m.ttl, m.limit = ttl, max
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

// forget drops d, which a save has just given to a value. It stays in
// the ring, where it may later push out an entry early; nothing worse.
func (m *misses) forget(d secrets.Digest) {
	if m.ttl == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.at, d)
}
