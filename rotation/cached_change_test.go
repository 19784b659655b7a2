package rotation_test

import (
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
)

// other returns a second Rotator over the fixture's store, on its clock,
// with a fixture of its own.
func (f *fixture) other(t *testing.T) *fixture {
	t.Helper()
	o := newFixtureOver(t, f.store.Store, func(opts *rotation.Options) {
		opts.Now = f.clock.Now
		opts.Keyring = f.ring
	})
	o.clock = f.clock
	return o
}

// A change starts from the keyset its Rotator cached, with no read of
// the store; when another Rotator has saved since, the compare-and-swap
// refuses it and the change is made again from what the store holds, at
// once and without losing what the other saved.
func TestChangeFromStaleCache(t *testing.T) {
	onEachBackend(t, nil, func(t *testing.T, f *fixture) {
		is := is.New(t)
		ctx := t.Context()
		mine := f.create(t, "acme", rotation.Spec{})
		b := f.other(t)
		theirs := b.create(t, "acme", rotation.Spec{}) // f's cached copy lacks it

		loads, _ := f.calls()
		saves := f.store.saves.Load()
		_, err := f.r.Regenerate(ctx, "acme", mine.ID, 0)
		is.NoErr(err)                                  // the change goes through
		is.Equal(f.store.saves.Load()-saves, int64(2)) // after one refused save from the stale copy
		after, _ := f.calls()
		is.Equal(after-loads, int64(1)) // and one read of the store
		ks := f.keyset(t, "acme")
		is.Equal(len(ks.Keys), 2) // the other Rotator's key is kept
		is.True(ks.Find(theirs.ID) >= 0)

		// A change the stale copy cannot make (it lacks the key) is made
		// from the store.
		c := b.create(t, "acme", rotation.Spec{})
		_, err = f.r.Regenerate(ctx, "acme", c.ID, 0)
		is.NoErr(err) // found in the store
		is.Equal(len(f.keyset(t, "acme").Keys), 3)

		// With nothing saved elsewhere, the next change reads nothing.
		loads, _ = f.calls()
		_, err = f.r.Regenerate(ctx, "acme", mine.ID, 0)
		is.NoErr(err)
		after, _ = f.calls()
		is.Equal(after, loads) // from the cached copy
	})
}

// Uses are recorded without a new version, so a cached copy may lack
// those another Rotator recorded: a change that tells of a value's last
// use is made from what the store holds.
func TestGraceEndedTellsOfOthersUses(t *testing.T) {
	// The cached copy is still fresh when the window ends.
	long := func(o *rotation.Options) { o.Cache.MaxAge = 2 * time.Hour }
	onEachBackend(t, long, func(t *testing.T, f *fixture) {
		is := is.New(t)
		ctx := t.Context()
		s := f.create(t, "acme", rotation.Spec{})
		f.regenerate(t, "acme", s.ID, time.Hour) // the first value is in grace, until t0+1h
		b := f.other(t)
		f.clock.Advance(10 * time.Minute)
		used := f.clock.Now()
		is.NoErr(b.auth(t, s.Value)) // the other Rotator sees it used
		is.NoErr(b.r.Flush(ctx))     // and records the use
		f.seen()

		f.clock.Set(t0.Add(time.Hour)) // the window ends
		var ended []rotation.Event
		for _, e := range f.sweep(t) {
			if e.Kind == rotation.EventGraceEnded {
				ended = append(ended, e)
			}
		}
		is.Equal(len(ended), 1)                    // the window's end is told
		is.Equal(ended[0].OldHint, s.Current.Hint) // of the first value
		is.True(ended[0].LastUsedAt.Equal(used))   // with the use the other Rotator recorded
	})
}
