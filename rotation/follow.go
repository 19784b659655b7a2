package rotation

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rotorkit/rotor/store"
)

// following is how a Rotator hears of the changes other processes make.
type following struct {
	log      store.ChangeLog // the store, if it keeps a change log
	notifier store.Notifier  // the store, if it can notify

	mu     sync.Mutex // serializes polls, and guards cursor
	cursor string     // where the next poll asks from; "" before the first
}

func (f *following) init(st store.Store) {
	f.log, _ = st.(store.ChangeLog)
	f.notifier, _ = st.(store.Notifier)
}

// Poll asks the store which owners changed since the previous poll and
// drops the cached keysets of those owners. The first poll only marks
// where the next one asks from, and drops every cached keyset, since they
// were read before any mark. Polls take turns. Poll returns
// [ErrNoChanges] if the store keeps no [store.ChangeLog], and the store's
// error, changing nothing, if it fails.
//
// [Rotator.Run] polls every CacheOptions.PollInterval; tests call Poll to
// decide exactly when changes are seen.
func (r *Rotator) Poll(ctx context.Context) error {
	f := &r.changes
	if f.log == nil {
		return ErrNoChanges
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	owners, next, err := f.log.Changes(ctx, f.cursor)
	if err != nil {
		return err
	}
	first := f.cursor == ""
	f.cursor = next
	if first {
		r.cache.invalidateAll()
		return nil
	}
	for _, o := range owners {
		r.invalidate(o) // an owner reported twice costs a lookup in an empty slot
	}
	return nil
}

// invalidate drops the owner's cached keyset, or every owner's for "".
func (r *Rotator) invalidate(owner string) {
	if owner == "" {
		r.cache.invalidateAll()
		return
	}
	r.cache.invalidate(owner)
}

// Run does the Rotator's work in the background until ctx is done, and
// then returns ctx's error: it never returns nil. Start it once for each
// Rotator, in a goroutine of its own, when the service starts, and stop
// it before a last [Rotator.Flush] when the service stops. It does three
// things at once:
//
// It writes the uses that [Rotator.Authenticate] records to the store, a
// batch every Options.UseInterval (each use as it comes, if that is
// negative). A batch that cannot be written is logged and kept for the
// next. No request ever writes uses itself. Without Run, uses are kept in
// memory until Flush writes them: the latest of each value, for up to
// Options.MaxPendingUses values, beyond which the uses of further values
// are dropped and logged. [Rotator.List] and [Rotator.Get] show the kept
// ones all the same.
//
// And it keeps the Rotator's cache in step with the changes that other
// processes sharing the store make. It polls at once and then every
// CacheOptions.PollInterval, if the store keeps a [store.ChangeLog], and
// listens for notifications, if it is a [store.Notifier] that can
// listen: each drops the cached keysets of the owners it names. Each
// time it starts listening it polls again at once, to catch up on saves
// committed before it listened. When notifications stop (a dropped
// connection) it logs that and listens again: at once if they had been
// coming for CacheOptions.ListenRetry, else after ListenRetry. Failed
// polls are logged and made good at the next tick. A store that can tell
// of no changes (memstore, whose only writers share its memory, or a
// store wrapped in one that hides them) is logged at the debug level,
// and its keysets are then cached for CacheOptions.MaxAge.
//
// And it sends the lifecycle events that come due with no change to
// carry them (see "Reminders" in the package doc): it runs
// [Rotator.Sweep] at once and then every Reminders.SweepInterval,
// waiting through Options.Wait. A failed sweep is logged and made good
// at the next. A store that can list no owners is logged once at the
// warning level; its events are then sent only by changes.
func (r *Rotator) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if err := r.follow(ctx); errors.Is(err, ErrNoChanges) {
			r.set.log.DebugContext(ctx, "rotation: the store reports no changes; cached keysets live for Cache.MaxAge", "err", err)
		}
	})
	wg.Go(func() { r.sweepEvery(ctx) })
	return r.writeUses(ctx)
}

// follow is the part of Run that follows the store's changes, until ctx
// is done; it returns ErrNoChanges at once if the store can tell of none,
// and as soon as it finds that out if the store keeps no change log and
// turns out unable to listen.
func (r *Rotator) follow(ctx context.Context) error {
	f := &r.changes
	if f.log == nil && f.notifier == nil {
		return ErrNoChanges
	}
	pollNow := make(chan struct{}, 1)
	var wg sync.WaitGroup
	if f.notifier != nil {
		wg.Go(func() { r.listen(ctx, pollNow) })
	}
	if f.log != nil {
		wg.Go(func() { r.pollEvery(ctx, pollNow) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	// Only listen ran, and it stopped because the store cannot listen.
	return ErrNoChanges
}

// pollEvery polls at once, then every PollInterval and whenever pollNow
// is signalled, until ctx is done.
func (r *Rotator) pollEvery(ctx context.Context, pollNow <-chan struct{}) {
	tick := time.NewTicker(r.set.cache.pollInterval)
	defer tick.Stop()
	for {
		if err := r.Poll(ctx); err != nil && ctx.Err() == nil {
			r.set.log.WarnContext(ctx, "rotation: poll for changes failed; cached keysets may stay stale until the next poll", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-pollNow:
		}
	}
}

// listen runs the store's Listen until ctx is done, and again when it
// stops, and signals pollNow each time it is ready, to catch up on what
// was missed meanwhile. A Listen that was ready for ListenRetry or more
// is started again at once, so that a connection cut once (a restarted
// proxy, a terminated backend) costs no more than a reconnection; others
// after ListenRetry, so that a store that keeps failing is not hammered.
func (r *Rotator) listen(ctx context.Context, pollNow chan<- struct{}) {
	retry := r.set.cache.listenRetry
	first := true
	var readyAt time.Time // when the current Listen was ready; zero if it was not
	ready := func() {
		if !first {
			r.set.log.InfoContext(ctx, "rotation: listening for changes again")
		}
		first = false
		readyAt = time.Now()
		select {
		case pollNow <- struct{}{}:
		default: // a poll is due already
		}
	}
	for {
		readyAt = time.Time{}
		err := r.changes.notifier.Listen(ctx, ready, r.invalidate)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errors.ErrUnsupported):
			r.set.log.DebugContext(ctx, "rotation: the store cannot notify; polling only", "err", err)
			return
		}
		r.set.log.WarnContext(ctx, "rotation: change notifications stopped; polling until they resume", "err", err)
		if !readyAt.IsZero() && time.Since(readyAt) >= retry {
			continue
		}
		wait := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			wait.Stop()
			return
		case <-wait.C:
		}
	}
}
