package rotation

import (
	"context"
	"sync"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// usage keeps the uses that Authenticate records until Run or Flush
// writes them: the latest of each value, for at most max values, so that
// a hot key costs one write per batch and a request never writes.
type usage struct {
	max int // values whose uses are kept at most
	// atOnce reports whether Run writes each use at once (UseInterval
	// negative), woken through wake, which holds a token once a use came.
	atOnce bool
	wake   chan struct{}

	// mu guards the fields below. It is the cache's lock, so that a
	// lookup reads the cache and the pending uses at once (see
	// Rotator.lookup).
	mu *sync.Mutex
	// pending holds the latest unwritten use of each value, by the
	// value's digest: a digest names one value (a store refuses a second
	// value with the same one), and Authenticate has it at hand, where
	// hashing and comparing the owner, key and value ids instead cost a
	// sixth of a cached Authenticate among a million keys.
	pending  pendingUses
	dropped  int       // uses dropped since the last report
	reported time.Time // when dropped uses were last reported
}

// batch is a batch of uses taken to be written, with the digest of each
// use's value, by which the uses written are then forgotten.
type batch struct {
	uses    []store.Use
	digests []secrets.Digest
}

func (u *usage) init(max int, atOnce bool, mu *sync.Mutex) {
	u.max, u.atOnce, u.mu = max, atOnce, mu
	u.wake = make(chan struct{}, 1)
}

// reportEvery is how often, at most, dropped uses are reported.
const reportEvery = time.Minute

// note keeps use, made at instant now, of the value whose digest is d, as
// the latest of that value, unless the uses of max values are pending
// already and it is of another one: then it is dropped. at is the slot
// of the pending uses where a lookup found d's a moment ago, or -1 (see
// Rotator.lookup). It returns how many uses were dropped since the last report,
// when a report is due (at most once per reportEvery), and 0 otherwise.
func (u *usage) note(d secrets.Digest, at int, use store.Use, now time.Time) (report int) {
	u.mu.Lock()
	switch i := u.pending.findFrom(at, d); {
	case i >= 0:
		// Of uses at the same instant the first stays, as it does in a store.
		if p := u.pending.get(i); use.At.After(p.At) {
			*p = use
		}
	case u.pending.len() < u.max:
		u.pending.add(d, use)
	default:
		u.dropped++
		if now.Sub(u.reported) >= reportEvery {
			report, u.dropped, u.reported = u.dropped, 0, now
		}
	}
	u.mu.Unlock()
	if u.atOnce {
		select {
		case u.wake <- struct{}{}:
		default: // Run has a token to wake for already
		}
	}
	return report
}

// take returns the pending uses, to be written. They stay pending, and
// so shown by overlay, until written gives back the batch: a list made
// while a batch is on its way to the store shows its uses, as it did
// before and does after.
func (u *usage) take() batch {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := u.pending.len()
	if n == 0 {
		return batch{}
	}
	b := batch{uses: make([]store.Use, n), digests: make([]secrets.Digest, n)}
	for i, p := range u.pending.uses {
		b.uses[i], b.digests[i] = p.use, p.d
	}
	return b
}

// written forgets the uses of b, which the store now holds, but for those
// a later use of the same value has replaced meanwhile: that one is still
// to be written. A batch that could not be written is not given back, so
// its uses stay for the next.
func (u *usage) written(b batch) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, d := range b.digests {
		if j := u.pending.find(d); j >= 0 && !u.pending.get(j).At.After(b.uses[i].At) {
			u.pending.delete(j)
		}
	}
}

// pendingForLocked returns the unwritten use of the value v of owner's key, if
// there is one. The use kept under v's digest is checked to be of v: a
// value deleted, and its key brought in again elsewhere, may have left a
// use of its own there.
func (u *usage) pendingForLocked(owner, key string, v *store.Value) (store.Use, bool) {
	i := u.pending.find(v.Digest)
	if i < 0 {
		return store.Use{}, false
	}
	use := u.pending.get(i)
	if use.ValueID != v.ID || use.KeyID != key || use.Owner != owner {
		return store.Use{}, false
	}
	return *use, true
}

// await returns when Run is to write the next batch: after interval, by
// wait, or, when uses are written at once, when one comes. It returns
// wait's error, or ctx's.
func (u *usage) await(ctx context.Context, interval time.Duration, wait func(context.Context, time.Duration) error) error {
	if !u.atOnce {
		return wait(ctx, interval)
	}
	select {
	case <-u.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// overlay lays the owner's unwritten uses over ks.
func (u *usage) overlay(ks *store.Keyset) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pending.len() == 0 {
		return
	}
	for i := range ks.Keys {
		k := &ks.Keys[i]
		for v := range k.Values() {
			// By the store's rule, so that a list shows before a write
			// what it shows after.
			if use, ok := u.pendingForLocked(ks.Owner, k.ID, v); ok {
				k.RecordUse(v.ID, use.At, use.IP)
			}
		}
	}
}

// overlayValue lays the unwritten use of the value v of owner's key over
// it.
func (u *usage) overlayValue(owner, key string, v *store.Value) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if use, ok := u.pendingForLocked(owner, key, v); ok && use.At.After(v.LastUsedAt) {
		v.LastUsedAt, v.LastUsedIP = use.At, use.IP
	}
}

// writeUses is the part of Run that writes the uses Authenticate records,
// a batch every UseInterval, until ctx is done.
func (r *Rotator) writeUses(ctx context.Context) error {
	for {
		if err := r.uses.await(ctx, r.set.useInterval, r.set.wait); err != nil {
			return err
		}
		_ = r.write(ctx, r.uses.take()) // logged, and kept for the next batch
	}
}

// write stores a batch; on failure the uses are kept for the next write
// and the failure is logged, unless ctx is done: a Run being stopped
// leaves what it could not write to Flush.
func (r *Rotator) write(ctx context.Context, b batch) error {
	if len(b.uses) == 0 {
		return nil
	}
	if err := r.st.RecordUses(ctx, b.uses); err != nil {
		if ctx.Err() == nil {
			r.set.log.WarnContext(ctx, "rotation: recording uses failed; will retry", "uses", len(b.uses), "err", err)
		}
		return err
	}
	r.showUses(b.uses) // first, so that no list in between misses them
	r.uses.written(b)
	return nil
}

// Flush writes the uses recorded since the last write now. Call it when
// a service stops, after [Rotator.Run] has returned, so that the last
// uses are not lost; a program that does not run Run calls it to write
// the uses it made.
func (r *Rotator) Flush(ctx context.Context) error {
	return r.write(ctx, r.uses.take())
}
