package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/rotorkit/rotor/rotation/internal/secretid"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// Rotator creates, rotates and authenticates the secrets of many owners
// over a [store.Store]. It is safe for concurrent use, also by several
// processes sharing one store: every change reads the owner's keyset,
// applies the rules of the [Policy] to it, and saves it with the store's
// compare-and-swap. It reads from a bounded cache of keysets (see
// Options.Cache), which [Rotator.Run] keeps in step with the changes other
// processes make. Use [New] to make one.
//
// A Rotator prints as its policy and never shows the keyring or pepper
// its options hold.
type Rotator struct {
	st      store.Store
	set     settings
	uses    usage
	cache   cache     // owners' keysets, as read or saved
	misses  misses    // digests the store did not know
	lookups lookupCap // bounds the store lookups of digests it does not know
	changes following // how Run and Poll hear of changes
	// turns has the changes of each owner take turns.
	turns turns
}

// maxAttempts bounds the compare-and-swap retries of one change.
const maxAttempts = 10

// readBackTimeout bounds the read that finds out whether a save whose
// answer was lost did commit. It runs even when the caller's context is
// done, since that is when answers get lost.
const readBackTimeout = 5 * time.Second

// New returns a Rotator over st. A nil opts means the defaults. New starts
// no goroutines: call [Rotator.Run] to hear of the changes that other
// processes sharing st make. It returns an [*OptionError] for options out
// of range, and panics if st is nil.
func New(st store.Store, opts *Options) (*Rotator, error) {
	if st == nil {
		panic("rotation: New with a nil store")
	}
	set, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	r := &Rotator{st: st, set: set}
	r.uses.init(set.maxPending, set.useInterval == 0, &r.cache.mu)
	r.cache.init(set.cache.maxOwners, set.cache.maxAge)
	r.misses.init(set.cache.maxMisses, set.cache.missTTL)
	r.lookups.init(set.cache.maxMissLookups)
	r.changes.init(st)
	return r, nil
}

// Policy returns the policy in force, with defaults filled in.
func (r *Rotator) Policy() Policy { return r.set.policy }

// String returns a summary of the Rotator's policy. It never shows the
// keyring or the pepper.
func (r *Rotator) String() string {
	p := r.set.policy
	return fmt.Sprintf("rotation.Rotator(format %s, max active %d, max in grace %d, max grace %v)",
		r.set.format, p.MaxActive, p.MaxInGrace, p.MaxGracePeriod)
}

// GoString returns the same as [Rotator.String], what %#v prints.
func (r *Rotator) GoString() string { return r.String() }

// Format prints [Rotator.String] for every verb, so that no verb walks
// into the Rotator's fields.
func (r *Rotator) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// LogValue returns the Rotator's policy as a group, for log/slog.
func (r *Rotator) LogValue() slog.Value {
	p := r.set.policy
	return slog.GroupValue(
		slog.String("format", r.set.format.String()),
		slog.Int("max_active", p.MaxActive),
		slog.Int("max_in_grace", p.MaxInGrace),
		slog.Duration("max_grace", p.MaxGracePeriod),
	)
}

// change is one operation on an owner's keyset, as update runs it.
type change struct {
	// apply changes ks at instant now, or returns why it must not. It may
	// run more than once, each time on a fresh read, so it must depend on
	// its arguments only.
	apply func(ks *store.Keyset, now time.Time) error
	// landed reports whether ks, read back after a save whose answer was
	// lost, holds the change.
	landed func(ks *store.Keyset) bool
	// onlyNotices marks a change that does nothing itself, the sweep's:
	// update saves only when the notices due, or prune, changed the
	// keyset, so that an owner with nothing due costs no version.
	onlyNotices bool
}

// outcome is what a change saved.
type outcome struct {
	ks      store.Keyset // as saved
	now     time.Time    // the instant the change was made at
	signing string       // ks.Signing before the change
	// notices are the lifecycle events the save marked as sent, for the
	// caller to send after its own.
	notices []Event
}

// update runs one change of an owner's keyset: load, apply, settle the
// designation, prune, validate, and save with compare-and-swap; on a
// conflict it waits a little (backoff) and starts again from the load, up
// to maxAttempts times. Changes of one owner through this Rotator take
// turns, so only other processes make conflicts. An owner never saved
// has an empty keyset at version 0.
//
// A save may fail in a way that leaves unknown whether it committed (a
// connection lost at COMMIT, a deadline that fires during it). Then the
// keyset is read back, under a context of its own, and if the change is
// there the operation succeeded: a caller is never told that a change
// failed which in fact holds.
func (r *Rotator) update(ctx context.Context, owner string, c change) (outcome, error) {
	if err := checkOwner(owner); err != nil {
		return outcome{}, err
	}
	done, err := r.turns.take(ctx, owner)
	if err != nil {
		return outcome{}, err
	}
	defer done()
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := r.set.wait(ctx, backoff(attempt)); err != nil {
				return outcome{}, err
			}
		}
		var ks store.Keyset
		ks, err = r.loadFresh(ctx, owner)
		switch {
		case errors.Is(err, store.ErrNotFound):
			ks = store.Keyset{Owner: owner}
		case err != nil:
			return outcome{}, err
		}
		now := r.set.now()
		out := outcome{now: now, signing: ks.Signing}
		var read packed
		if c.onlyNotices {
			read = pack(&ks)
		}
		if err := c.apply(&ks, now); err != nil {
			return outcome{}, err
		}
		settleSigning(&ks, now)
		out.notices = r.notices(&ks, now)
		r.prune(&ks, now)
		if c.onlyNotices && pack(&ks).data == read.data {
			return outcome{}, errUnchanged
		}
		if err := ks.Validate(); err != nil {
			// A change of this package broke an invariant: a bug, not the
			// caller's fault. Nothing is saved.
			return outcome{}, fmt.Errorf("rotation: %s: the change would break the store's rules: %w", owner, err)
		}
		err = r.st.Save(ctx, ks)
		switch {
		case err == nil:
			r.installSaved(&ks, now) // seen at once by this Rotator's reads
		case errors.Is(err, store.ErrConflict):
			r.cache.invalidate(owner) // another process saved: the copy is stale
			r.set.log.DebugContext(ctx, "rotation: keyset changed concurrently, retrying", "owner", owner)
			continue
		case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrDuplicate):
			return outcome{}, err // refused: nothing was saved
		default:
			r.cache.invalidate(owner) // the save may or may not hold: read it again
			if !r.landed(ctx, owner, ks.Version, c) {
				return outcome{}, err
			}
			r.set.log.InfoContext(ctx, "rotation: a save reported an error but had committed", "owner", owner, "err", err)
			if len(out.notices) > 0 {
				// Whether this save set their marks, or an equal change
				// made meanwhile did and sent them, cannot be told: they
				// are dropped rather than perhaps sent twice.
				r.set.log.WarnContext(ctx, "rotation: lifecycle events of a save whose answer was lost are not sent",
					"owner", owner, "events", len(out.notices))
				out.notices = nil
			}
		}
		ks.Version++
		out.ks = ks
		return out, nil
	}
	return outcome{}, fmt.Errorf("rotation: %s: %w after %d attempts: %w", owner, ErrConflict, maxAttempts, err)
}

// landed reads the owner's keyset back after a save whose answer was
// lost, and reports whether the change is there: saved on top of version
// read, by this attempt or by an equal one made meanwhile.
func (r *Rotator) landed(ctx context.Context, owner string, read int64, c change) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readBackTimeout)
	defer cancel()
	ks, err := r.st.Load(ctx, owner)
	if err != nil {
		r.set.log.WarnContext(ctx, "rotation: cannot read back after a failed save; it may have committed", "owner", owner, "err", err)
		return false
	}
	return ks.Version > read && c.landed(&ks)
}

// settleSigning makes ks.Signing the key that signs at now: the
// designated key while it is active; once it has expired, the oldest
// active key that can sign; none if there is no such key.
func settleSigning(ks *store.Keyset, now time.Time) {
	i := signingIndex(ks, now)
	ks.Signing = ""
	if i >= 0 {
		ks.Signing = ks.Keys[i].ID
	}
}

// signingIndex returns the index of the key that signs the owner's
// webhooks at now, by the rule of [settleSigning], or -1.
func signingIndex(ks *store.Keyset, now time.Time) int {
	if i := ks.Find(ks.Signing); i >= 0 && ks.Keys[i].ValidAt(now) {
		return i
	}
	for i := range ks.Keys {
		if k := &ks.Keys[i]; k.CanSign() && k.ValidAt(now) {
			return i
		}
	}
	return -1
}

func (r *Rotator) emit(ctx context.Context, e Event) {
	if r.set.observe != nil {
		r.set.observe(ctx, e)
	}
}

// emitNotices sends the lifecycle events that the change's save marked.
func (r *Rotator) emitNotices(ctx context.Context, out outcome) {
	for _, e := range out.notices {
		r.emit(ctx, e)
	}
}

// emitDesignation reports a designation that the change moved, whether
// the change asked for it or settled it.
func (r *Rotator) emitDesignation(ctx context.Context, out outcome) {
	if out.ks.Signing == "" || out.ks.Signing == out.signing {
		return
	}
	i := out.ks.Find(out.ks.Signing)
	r.emit(ctx, Event{
		Kind: EventDesignated, Owner: out.ks.Owner, SecretID: out.ks.Signing,
		PreviousID: out.signing, Hint: out.ks.Keys[i].Current.Hint, At: out.now,
	})
}

// newValue makes a value in format f and its record, with a new value id.
// It is sealed, bound to that id, when seal is set.
func (r *Rotator) newValue(f secrets.Format, seal bool) (store.Value, secrets.Value, error) {
	v, err := f.Generate()
	if err != nil {
		return store.Value{}, secrets.Value{}, err
	}
	rec := store.Value{
		ID:     secretid.NewValue(),
		Hint:   v.Hint(),
		Digest: r.set.digester.DigestValue(v),
	}
	if seal {
		if r.set.keyring == nil {
			return store.Value{}, secrets.Value{}, &OptionError{Field: "Keyring", Reason: "is nil, and a secret that signs HMACs needs one to seal its value"}
		}
		if rec.Sealed, err = r.set.keyring.Seal(rec.ID, v); err != nil {
			return store.Value{}, secrets.Value{}, err
		}
	}
	return rec, v, nil
}

// Create makes a new secret for owner and returns it with its value, which
// is not kept and cannot be had again. A secret that can sign (HMAC, or
// the webhook format) is designated to sign the owner's webhooks when no
// active secret is. Create fails with a [*LimitError] when the owner
// already has Policy.MaxActive active secrets, with a [*ValidationError]
// for a spec out of range, and with an [*OptionError] for an HMAC secret
// when Options.Keyring is nil.
func (r *Rotator) Create(ctx context.Context, owner string, spec Spec) (*Issued, error) {
	if err := r.checkSpec(owner, &spec); err != nil {
		return nil, err
	}
	cur, v, err := r.newValue(spec.Format, spec.HMAC)
	if err != nil {
		return nil, err
	}
	rec := store.Record{ID: secretid.New(), Attributes: spec.Clone(), Current: cur}
	out, err := r.update(ctx, owner, change{
		apply: func(ks *store.Keyset, now time.Time) error {
			if !rec.ExpiresAt.IsZero() && !rec.ExpiresAt.After(now) {
				return &ValidationError{Field: "ExpiresAt", Reason: "must be in the future"}
			}
			if n := countActive(ks, now); n >= r.set.policy.MaxActive {
				return &LimitError{Owner: owner, Limit: r.set.policy.MaxActive}
			}
			saved := rec.Clone()
			saved.CreatedAt, saved.UpdatedAt, saved.Current.CreatedAt = now, now, now
			if !saved.ExpiresAt.IsZero() {
				// The creator knows the expiry: leads it is within already
				// are not reminded of.
				saved.RemindedFor, saved.RemindedAt = saved.ExpiresAt, now
			}
			ks.Keys = append(ks.Keys, saved)
			return nil
		},
		landed: func(ks *store.Keyset) bool { return ks.Find(rec.ID) >= 0 },
	})
	if err != nil {
		return nil, err
	}
	i := out.ks.Find(rec.ID)
	saved := &out.ks.Keys[i]
	res := &Issued{Secret: secretOf(owner, saved, out.ks.Signing == saved.ID, out.now), Value: v}
	r.emit(ctx, Event{Kind: EventCreated, Owner: owner, SecretID: saved.ID, Hint: saved.Current.Hint, At: out.now})
	r.emitDesignation(ctx, out)
	r.emitNotices(ctx, out)
	return res, nil
}

// checkSpec checks what Create is given and fills in the defaults.
func (r *Rotator) checkSpec(owner string, spec *Spec) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	if spec.Format == "" {
		spec.Format = r.set.format
	}
	if spec.Format.IsWebhook() {
		spec.HMAC = true
	}
	return validation(spec.Validate())
}

// checkOwner returns a [*ValidationError] naming "owner" if owner cannot be
// one: text that [store.Keyset.Validate] refuses, which no backend could
// have stored. Every method that takes an owner checks it, so that each
// backend answers such an owner alike.
func checkOwner(owner string) error {
	if store.ValidOwner(owner) {
		return nil
	}
	ks := store.Keyset{Owner: owner}
	var ve *store.ValidationError
	errors.As(ks.Validate(), &ve) // says why
	return &ValidationError{Field: "owner", Reason: ve.Reason}
}

// Regenerate gives the secret id a new value and returns it, this once,
// with the same secret: its id, attributes, creation time, designation
// and last use are kept.
//
// The value it had becomes a previous value that keeps working for grace,
// capped at the secret's own expiry; with a grace of 0 it stops working at
// once. grace must be from 0 to Policy.MaxGracePeriod, else Regenerate
// returns a [*ValidationError] and changes nothing. A secret whose earlier
// values are still in grace may be regenerated again: each keeps its own
// window. When more than Policy.MaxInGrace previous values of the owner
// would then be in grace, the windows that end soonest among the others
// are ended now and listed in [Regenerated.CutShort]; the window just
// asked for is never cut, and a regeneration never fails for lack of
// room.
//
// Concurrent calls for one secret take turns, each on the value the one
// before left: every caller gets a value that was current when its call
// committed, and a call that commits after it ends that value's life as
// its own grace says (at once for 0). A caller that must not hand out a
// value that another call has already replaced uses [Rotator.RegenerateIf].
//
// A secret that is not found, custom, or not active gives a [*SecretError]
// matching ErrNotFound, ErrNotManaged or ErrNotActive.
func (r *Rotator) Regenerate(ctx context.Context, owner, id string, grace time.Duration) (*Regenerated, error) {
	return r.regenerate(ctx, owner, id, "", grace)
}

// RegenerateIf is [Rotator.Regenerate] on the condition that the secret's
// current value is still valueID, the [ValueInfo.ID] the caller saw (in a
// listing, or as [Principal.Presented] of the key it was called with). If
// another regeneration came first, it changes nothing and returns a
// [*SecretError] matching ErrStale, which an HTTP handler answers with 409
// or 412. Of concurrent calls naming the same value, exactly one
// succeeds.
func (r *Rotator) RegenerateIf(ctx context.Context, owner, id, valueID string, grace time.Duration) (*Regenerated, error) {
	if valueID == "" {
		return nil, &ValidationError{Field: "valueID", Reason: "must not be empty"}
	}
	return r.regenerate(ctx, owner, id, valueID, grace)
}

func (r *Rotator) regenerate(ctx context.Context, owner, id, ifValue string, grace time.Duration) (*Regenerated, error) {
	if grace < 0 || grace > r.set.policy.MaxGracePeriod {
		return nil, &ValidationError{Field: "grace", Reason: r.set.policy.graceRange()}
	}
	var (
		fresh store.Value // made once, on the first attempt, and reused
		v     secrets.Value
		old   store.Value
		cut   []Cut
	)
	out, err := r.update(ctx, owner, change{
		apply: func(ks *store.Keyset, now time.Time) error {
			rec, err := find(ks, "regenerate", id)
			if err != nil {
				return err
			}
			switch st := rec.StatusAt(now); {
			case rec.Custom:
				return &SecretError{Op: "regenerate", Owner: owner, ID: id, Status: st, Err: ErrNotManaged}
			case st != StatusActive:
				return &SecretError{Op: "regenerate", Owner: owner, ID: id, Status: st, Err: ErrNotActive}
			case ifValue != "" && rec.Current.ID != ifValue:
				return &SecretError{Op: "regenerate", Owner: owner, ID: id, Status: st, Err: ErrStale}
			}
			if fresh.ID == "" {
				if fresh, v, err = r.newValue(rec.Format, rec.HMAC); err != nil {
					return err
				}
			}
			old = rec.Current
			old.ExpiresAt = now
			if grace > 0 {
				old.ExpiresAt = now.Add(grace)
				if !rec.ExpiresAt.IsZero() && rec.ExpiresAt.Before(old.ExpiresAt) {
					old.ExpiresAt = rec.ExpiresAt // a window never outlives its key
				}
				rec.Previous = slices.Insert(rec.Previous, 0, old.Clone())
			}
			rec.Current = fresh.Clone()
			rec.Current.CreatedAt = now
			rec.UpdatedAt = now
			cut = r.cutGrace(ks, now, old.ID)
			return nil
		},
		landed: func(ks *store.Keyset) bool {
			i := ks.Find(id)
			return i >= 0 && ks.Keys[i].Value(fresh.ID) != nil
		},
	})
	if err != nil {
		return nil, err
	}
	// The result shows the latest uses, as Get does, also of the old value
	// when it is no longer kept.
	r.uses.overlay(&out.ks)
	r.uses.overlayValue(owner, id, &old)
	rec := &out.ks.Keys[out.ks.Find(id)]
	res := &Regenerated{
		Issued:   Issued{Secret: secretOf(owner, rec, out.ks.Signing == id, out.now), Value: v},
		Old:      valueInfo(&old),
		CutShort: cut,
	}
	r.emit(ctx, Event{
		Kind: EventRegenerated, Owner: owner, SecretID: id, Hint: rec.Current.Hint, At: out.now,
		OldHint: old.Hint, OldExpiresAt: old.ExpiresAt, CutShort: slices.Clone(cut),
	})
	r.emitDesignation(ctx, out)
	r.emitNotices(ctx, out)
	return res, nil
}

// cutGrace ends now the grace windows that would end soonest, until at
// most Policy.MaxInGrace previous values of the owner are in grace, and
// returns what it cut. The value keep, just put in grace, is never cut.
func (r *Rotator) cutGrace(ks *store.Keyset, now time.Time, keep string) []Cut {
	type open struct{ key, prev int }
	var in []open
	for i := range ks.Keys {
		for j := range ks.Keys[i].Previous {
			if ks.Keys[i].PreviousValidAt(j, now) {
				in = append(in, open{i, j})
			}
		}
	}
	excess := len(in) - r.set.policy.MaxInGrace
	if excess <= 0 {
		return nil
	}
	in = slices.DeleteFunc(in, func(o open) bool { return ks.Keys[o.key].Previous[o.prev].ID == keep })
	// Stable, so of equal ends the older secret's goes first.
	slices.SortStableFunc(in, func(a, b open) int {
		return ks.Keys[a.key].Previous[a.prev].ExpiresAt.Compare(ks.Keys[b.key].Previous[b.prev].ExpiresAt)
	})
	cut := make([]Cut, 0, excess)
	// MaxInGrace is at least 1, so without keep in still holds excess.
	for _, o := range in[:excess] {
		k := &ks.Keys[o.key]
		p := &k.Previous[o.prev]
		cut = append(cut, Cut{SecretID: k.ID, Value: valueInfo(p)})
		p.ExpiresAt = now
		k.UpdatedAt = now
	}
	return cut
}

// prune drops what no longer works and need not be shown: previous values
// whose windows have ended (or whose secret has), and the ended secrets
// beyond Policy.KeepEnded, those that ended first going first.
func (r *Rotator) prune(ks *store.Keyset, now time.Time) {
	type ended struct {
		at time.Time
		id string
	}
	var all []ended
	for i := range ks.Keys {
		k := &ks.Keys[i]
		k.Previous = slices.DeleteFunc(k.Previous, func(v store.Value) bool {
			return !k.ValidAt(now) || !now.Before(v.ExpiresAt)
		})
		if len(k.Previous) == 0 {
			k.Previous = nil
		}
		switch k.StatusAt(now) {
		case StatusRevoked:
			all = append(all, ended{k.RevokedAt, k.ID})
		case StatusExpired:
			all = append(all, ended{k.ExpiresAt, k.ID})
		}
	}
	drop := len(all) - r.set.policy.KeepEnded
	if drop <= 0 {
		return
	}
	slices.SortStableFunc(all, func(a, b ended) int { return a.at.Compare(b.at) })
	gone := make(map[string]bool, drop)
	for _, e := range all[:drop] {
		gone[e.id] = true
	}
	ks.Keys = slices.DeleteFunc(ks.Keys, func(k store.Record) bool { return gone[k.ID] })
}

func countActive(ks *store.Keyset, now time.Time) int {
	n := 0
	for i := range ks.Keys {
		if ks.Keys[i].ValidAt(now) {
			n++
		}
	}
	return n
}

// find returns the key with id, or a *SecretError for op. The owner is
// filled in from the keyset.
func find(ks *store.Keyset, op, id string) (*store.Record, error) {
	i := ks.Find(id)
	if i < 0 {
		return nil, &SecretError{Op: op, Owner: ks.Owner, ID: secretid.Shown(id), Err: ErrNotFound}
	}
	return &ks.Keys[i], nil
}
