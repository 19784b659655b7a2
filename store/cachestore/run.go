package cachestore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNoChanges reports that the inner store can tell of no changes: it
// implements neither [store.ChangeLog] nor [store.Notifier], so cached
// copies live for Options.MaxAge. It matches [errors.ErrUnsupported].
var ErrNoChanges = fmt.Errorf("cachestore: the store reports no changes: %w", errors.ErrUnsupported)

// Poll asks the inner store which owners changed since the previous poll
// and drops their cached keysets. The first poll only marks where the next
// one asks from, and drops every cached keyset, since they were read
// before any mark. Polls take turns. Poll returns [ErrNoChanges] if the
// inner store keeps no [store.ChangeLog], and the store's error, changing
// nothing, if it fails.
//
// [Store.Run] polls every Options.PollInterval; tests call Poll to decide
// exactly when changes are seen.
func (s *Store) Poll(ctx context.Context) error {
	if s.changes == nil {
		return ErrNoChanges
	}
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	owners, next, err := s.changes.Changes(ctx, s.cursor)
	if err != nil {
		return err
	}
	first := s.cursor == ""
	s.cursor = next
	if first {
		s.InvalidateAll()
		return nil
	}
	seen := make(map[string]bool, len(owners))
	for _, o := range owners {
		if !seen[o] {
			seen[o] = true
			s.Invalidate(o)
		}
	}
	return nil
}

// Run keeps the cache in step with changes made through other Stores,
// until ctx is done, and then returns ctx's error. It polls at once and
// then every Options.PollInterval, if the inner store keeps a
// [store.ChangeLog], and listens for notifications, if it is a
// [store.Notifier] that can listen: each drops the owners it names. Each
// time it starts listening it polls again at once, to catch up on saves
// committed before it listened. When notifications stop (a dropped
// connection), Run logs it and listens again after Options.ListenRetry.
// Failed polls are logged and retried at the next tick.
//
// Run returns [ErrNoChanges] at once if the inner store can tell of no
// changes, and as soon as it finds that out if the store keeps no change
// log and turns out unable to listen. Start it in a goroutine of its
// own, once per Store.
func (s *Store) Run(ctx context.Context) error {
	if s.changes == nil && s.notifier == nil {
		return ErrNoChanges
	}
	pollNow := make(chan struct{}, 1)
	var wg sync.WaitGroup
	if s.notifier != nil {
		wg.Go(func() { s.listen(ctx, pollNow) })
	}
	if s.changes != nil {
		wg.Go(func() { s.pollEvery(ctx, pollNow) })
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
func (s *Store) pollEvery(ctx context.Context, pollNow <-chan struct{}) {
	tick := time.NewTicker(s.set.pollInterval)
	defer tick.Stop()
	for {
		if err := s.Poll(ctx); err != nil && ctx.Err() == nil {
			s.set.log.WarnContext(ctx, "cachestore: poll failed; cached keysets may stay stale until the next poll", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-pollNow:
		}
	}
}

// listen runs the inner store's Listen until ctx is done, starting it
// again after ListenRetry when it fails, and signals pollNow each time it
// listens again, to catch up on what was missed meanwhile.
func (s *Store) listen(ctx context.Context, pollNow chan<- struct{}) {
	first := true
	ready := func() {
		if !first {
			s.set.log.InfoContext(ctx, "cachestore: listening for changes again")
		}
		first = false
		select {
		case pollNow <- struct{}{}:
		default: // a poll is already due
		}
	}
	for {
		err := s.notifier.Listen(ctx, ready, s.Invalidate)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errors.ErrUnsupported):
			s.set.log.DebugContext(ctx, "cachestore: the store cannot notify; polling only", "err", err)
			return
		}
		s.set.log.WarnContext(ctx, "cachestore: change notifications stopped; polling until they resume", "err", err)
		retry := time.NewTimer(s.set.listenRetry)
		select {
		case <-ctx.Done():
			retry.Stop()
			return
		case <-retry.C:
		}
	}
}
