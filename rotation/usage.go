package rotation

import (
	"context"
	"sync"
	"time"

	"github.com/rotorkit/rotor/store"
)

// usage batches recorded uses so that a hot key costs at most one store
// write per interval: uses are kept in memory, the latest per value, and
// written together by the first use seen after the interval has passed.
type usage struct {
	interval time.Duration

	mu        sync.Mutex             // guards the fields below
	pending   map[valueRef]store.Use // the latest unwritten use of each value
	lastWrite time.Time              // when the last batch was taken
}

// valueRef names one value of one owner's key.
type valueRef struct{ owner, key, value string }

func refOf(u store.Use) valueRef { return valueRef{u.Owner, u.KeyID, u.ValueID} }

func (u *usage) init(interval time.Duration) {
	u.interval = interval
	u.pending = make(map[valueRef]store.Use)
}

// note records a use at instant now and returns the batch the caller must
// write, or nil when the interval since the last write has not passed.
func (u *usage) note(use store.Use, now time.Time) []store.Use {
	u.mu.Lock()
	defer u.mu.Unlock()
	// Of uses at the same instant the first stays, as it does in a store.
	if p, ok := u.pending[refOf(use)]; !ok || use.At.After(p.At) {
		u.pending[refOf(use)] = use
	}
	if !u.lastWrite.IsZero() && now.Sub(u.lastWrite) < u.interval {
		return nil
	}
	u.lastWrite = now
	return u.takeLocked()
}

func (u *usage) take() []store.Use {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.takeLocked()
}

func (u *usage) takeLocked() []store.Use {
	if len(u.pending) == 0 {
		return nil
	}
	batch := make([]store.Use, 0, len(u.pending))
	for _, use := range u.pending {
		batch = append(batch, use)
	}
	clear(u.pending)
	return batch
}

// requeue puts back the uses of a batch that could not be written, unless
// a later use of the same value arrived meanwhile.
func (u *usage) requeue(batch []store.Use) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, use := range batch {
		if p, ok := u.pending[refOf(use)]; !ok || use.At.After(p.At) {
			u.pending[refOf(use)] = use
		}
	}
}

// overlay lays the owner's unwritten uses over ks.
func (u *usage) overlay(ks *store.Keyset) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.pending) == 0 {
		return
	}
	for i := range ks.Keys {
		k := &ks.Keys[i]
		for v := range k.Values() {
			// By the store's rule, so that a list shows before a write
			// what it shows after.
			if use, ok := u.pending[valueRef{ks.Owner, k.ID, v.ID}]; ok {
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
	if use, ok := u.pending[valueRef{owner, key, v.ID}]; ok && use.At.After(v.LastUsedAt) {
		v.LastUsedAt, v.LastUsedIP = use.At, use.IP
	}
}

// write stores a batch; on failure the uses are kept for the next write
// and the failure is logged, since a request must not fail for it.
func (r *Rotator) write(ctx context.Context, batch []store.Use) error {
	if len(batch) == 0 {
		return nil
	}
	if err := r.st.RecordUses(ctx, batch); err != nil {
		r.uses.requeue(batch)
		r.set.log.WarnContext(ctx, "rotation: recording uses failed; will retry", "uses", len(batch), "err", err)
		return err
	}
	r.showUses(batch)
	return nil
}

// Flush writes the uses recorded since the last write now. Call it before
// a process exits so the last minute of last-used times is not lost.
func (r *Rotator) Flush(ctx context.Context) error {
	return r.write(ctx, r.uses.take())
}
