// Package outage keeps track of the outages of a backend that is called
// on the way of every request, for rotor's Redis packages: it counts the
// calls the backend did not answer, logs once when it stops answering and
// once when it answers again, and, while it is down, lets one call at a
// time try it, so that the others need not wait for the client's
// timeouts before they get the failure's answer.
package outage

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
)

// ErrStillDown is the failure of a call made while the backend is down
// that did not try it, since another call is finding out whether it is
// back.
var ErrStillDown = errors.New("redis did not answer the latest call")

// Tracker follows one backend's outages. It is safe for concurrent use;
// its zero value logs nothing. Set its fields before its first use.
type Tracker struct {
	// Logger receives Warn records of Down, with the error that began an
	// outage, and Info records of Up, with the count of failures. Nil
	// discards them.
	Logger   *slog.Logger
	Down, Up string

	failures atomic.Uint64
	down     atomic.Bool // the latest call that tried the backend failed
	probing  atomic.Bool // a call is finding out whether it is back
}

// Begin starts a call. When it reports skip, the backend is down and
// another call is trying it: the call must not try it too, and is
// counted as failed (its error is [ErrStillDown]). Otherwise the call
// tries the backend and reports the outcome with [Tracker.End], passing
// on probe.
func (t *Tracker) Begin() (probe, skip bool) {
	if !t.down.Load() {
		return false, false
	}
	if !t.probing.CompareAndSwap(false, true) {
		t.failures.Add(1)
		return false, true
	}
	return true, false
}

// End records the outcome of a call that [Tracker.Begin] let try the
// backend: err nil if the backend answered. A call that learned nothing
// of the backend, such as one whose context ended, calls
// [Tracker.Abandon] instead.
func (t *Tracker) End(ctx context.Context, probe bool, err error) {
	if probe {
		defer t.probing.Store(false)
	}
	if err != nil {
		t.failures.Add(1)
		if t.down.CompareAndSwap(false, true) && t.Logger != nil {
			t.Logger.LogAttrs(ctx, slog.LevelWarn, t.Down, slog.String("err", err.Error()))
		}
		return
	}
	if t.down.Load() && t.down.CompareAndSwap(true, false) && t.Logger != nil {
		t.Logger.LogAttrs(ctx, slog.LevelInfo, t.Up, slog.Uint64("failures", t.failures.Load()))
	}
}

// Abandon ends a call that [Tracker.Begin] let try the backend without
// an outcome to record: a failure that is the caller's, such as a done
// context, says nothing of the backend.
func (t *Tracker) Abandon(probe bool) {
	if probe {
		t.probing.Store(false)
	}
}

// Failures returns how many calls the backend did not answer.
func (t *Tracker) Failures() uint64 { return t.failures.Load() }

// IsDown reports whether the latest call that tried the backend failed.
func (t *Tracker) IsDown() bool { return t.down.Load() }
