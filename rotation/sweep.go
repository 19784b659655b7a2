package rotation

import (
	"context"
	"errors"
	"time"

	"github.com/rotorkit/rotor/store"
)

// sweepPage is how many owners the sweep asks the store for at once.
const sweepPage = 1000

// Sweep sends the lifecycle events due now that no change has carried:
// it finds the owners whose keyset is due (Keyset.DueAt at or before
// now) and runs for each a change that does nothing itself, so that, as
// in every change, the events due are marked in the keyset, saved, and
// then sent to Options.Observer. An owner found to have nothing due once
// read afresh (another Rotator swept it first) is not saved.
//
// A store that is a [store.DueLister] is asked for the due owners only,
// earliest first, in pages of 1,000, so a sweep costs what is due; one
// that is only a [store.OwnerLister] is scanned whole, every owner's
// keyset read to see whether it is due; one that is neither gives
// [ErrNoSweep]. The failure of one owner is logged at Warn and does not
// stop the sweep, which retries it next time; Sweep returns the store's
// error if it cannot list owners, and ctx's once ctx is done.
//
// [Rotator.Run] sweeps at once and then every Reminders.SweepInterval;
// tests call Sweep to decide exactly when reminders go. Several
// Rotators may sweep one store at once: each event is sent once.
func (r *Rotator) Sweep(ctx context.Context) error {
	now := r.set.now()
	if dl, ok := r.st.(store.DueLister); ok {
		return r.sweepDue(ctx, dl, now)
	}
	if ol, ok := r.st.(store.OwnerLister); ok {
		return r.sweepAll(ctx, ol, now)
	}
	return ErrNoSweep
}

// sweepDue sweeps the owners dl lists as due at now. Those swept leave
// the list, since their DueAt moves past now; those that failed stay,
// and are passed over once seen, so a page holding nothing new ends the
// sweep.
func (r *Rotator) sweepDue(ctx context.Context, dl store.DueLister, now time.Time) error {
	seen := make(map[string]bool)
	for {
		owners, err := dl.Due(ctx, now, sweepPage)
		if err != nil {
			return err
		}
		fresh := 0
		for _, o := range owners {
			if seen[o] {
				continue
			}
			seen[o] = true
			fresh++
			if err := r.sweepOwner(ctx, o); err != nil {
				return err
			}
		}
		if fresh == 0 || len(owners) < sweepPage {
			return nil
		}
	}
}

// sweepAll reads every owner ol lists and sweeps those due at now.
func (r *Rotator) sweepAll(ctx context.Context, ol store.OwnerLister, now time.Time) error {
	after := ""
	for {
		owners, err := ol.Owners(ctx, after, sweepPage)
		if err != nil {
			return err
		}
		for _, o := range owners {
			ks, err := r.st.Load(ctx, o)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.Is(err, store.ErrNotFound):
				continue // deleted from the store since it was listed
			case err != nil:
				r.set.log.WarnContext(ctx, "rotation: sweep cannot read an owner; will retry", "owner", o, "err", err)
				continue
			case ks.DueAt.IsZero() || ks.DueAt.After(now):
				continue
			}
			if err := r.sweepOwner(ctx, o); err != nil {
				return err
			}
		}
		if len(owners) < sweepPage {
			return nil
		}
		after = owners[len(owners)-1]
	}
}

// sweepOwner sends what is due for owner. It returns ctx's error once
// ctx is done; any other failure is logged and left to the next sweep.
func (r *Rotator) sweepOwner(ctx context.Context, owner string) error {
	out, err := r.update(ctx, owner, change{
		apply: func(*store.Keyset, time.Time) error { return nil },
		// A save whose answer was lost sends nothing (see update), so
		// whether it landed changes nothing but the log line.
		landed:      func(*store.Keyset) bool { return false },
		onlyNotices: true,
	})
	switch {
	case err == errUnchanged:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		r.set.log.WarnContext(ctx, "rotation: sweep of an owner failed; will retry", "owner", owner, "err", err)
		return nil
	}
	r.emitDesignation(ctx, out) // the designated secret may have expired
	r.emitNotices(ctx, out)
	return nil
}

// sweepEvery is the part of Run that sweeps, at once and then every
// Reminders.SweepInterval, until ctx is done. A store that cannot be
// swept is logged once.
func (r *Rotator) sweepEvery(ctx context.Context) {
	for {
		err := r.Sweep(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrNoSweep):
			r.set.log.WarnContext(ctx, "rotation: the store can list no owners; lifecycle events are sent only with changes", "err", err)
			return
		case err != nil:
			r.set.log.WarnContext(ctx, "rotation: sweep for lifecycle events failed; will retry", "err", err)
		}
		if err := r.set.wait(ctx, r.set.reminders.sweep); err != nil {
			return
		}
	}
}
