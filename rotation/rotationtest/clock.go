// Package rotationtest helps users test code built on package rotation:
// a time source to step through grace windows without waiting.
package rotationtest

import (
	"sync"
	"time"
)

// Clock is a time source that moves only when told to. Pass its Now method
// as rotation.Options.Now and call Advance to step past a grace window. It
// is safe for concurrent use. Use [NewClock]; the zero value stands at the
// zero time.
type Clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

// NewClock returns a Clock standing at t.
func NewClock(t time.Time) *Clock {
	return &Clock{now: t}
}

// Now returns the clock's current instant.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new instant. A
// negative d moves it back, for tests of clock skew.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
