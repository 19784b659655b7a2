package rotation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// Rotator creates, rotates and authenticates the secrets of many owners
// over a [store.Store]. It is safe for concurrent use, also by several
// processes sharing one store: every change reads the owner's keyset,
// applies the rules of the [Policy] to it, and saves it with the store's
// compare-and-swap. Use [New] to make one.
type Rotator struct {
	st   store.Store
	set  settings
	uses usage
	keys sync.Map // owner → *keySnap, each immutable
	// keyEpoch counts the times every owner's keys were forgotten at once.
	keyEpoch atomic.Uint64
}

// maxAttempts bounds the compare-and-swap retries of one change.
const maxAttempts = 10

// New returns a Rotator over st. A nil opts means the defaults. New starts
// no goroutines. It returns a [*ValidationError] for options out of range,
// and panics if st is nil. If st is a [store.Invalidator] (a
// cachestore.Store), the Rotator registers with it to drop the HMAC keys
// it built from a keyset as soon as the store drops that keyset.
func New(st store.Store, opts *Options) (*Rotator, error) {
	if st == nil {
		panic("rotation: New with a nil store")
	}
	set, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	r := &Rotator{st: st, set: set}
	r.uses.init(set.useInterval)
	if inv, ok := st.(store.Invalidator); ok {
		// What the store drops, the keys built from it go with.
		inv.OnInvalidate(r.forgetKeys)
	}
	return r, nil
}

// Policy returns the policy in force, with defaults filled in.
func (r *Rotator) Policy() Policy { return r.set.policy }

// update runs one change of an owner's keyset: load, apply change, save
// with compare-and-swap, and on a conflict start again from the load, up to
// maxAttempts times. change must depend only on the keyset and the instant
// it is given, since it may run more than once. An owner never saved has an
// empty keyset at version 0.
func (r *Rotator) update(ctx context.Context, owner string, change func(ks *store.Keyset, now time.Time) error) error {
	var err error
	for range maxAttempts {
		var ks store.Keyset
		ks, err = r.st.Load(ctx, owner)
		switch {
		case errors.Is(err, store.ErrNotFound):
			ks = store.Keyset{Owner: owner}
		case err != nil:
			return err
		}
		if err := change(&ks, r.set.now()); err != nil {
			return err
		}
		err = r.st.Save(ctx, ks)
		if err == nil {
			r.forgetKeys(owner)
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		r.set.log.DebugContext(ctx, "rotation: keyset changed concurrently, retrying", "owner", owner)
	}
	return fmt.Errorf("rotation: %s: %w after %d attempts: %w", owner, ErrConflict, maxAttempts, err)
}

func (r *Rotator) emit(ctx context.Context, e Event) {
	if r.set.observe != nil {
		r.set.observe(ctx, e)
	}
}

// newID returns a fresh secret id: "sec_" and 26 random base32 characters.
func newID() string {
	return "sec_" + strings.ToLower(rand.Text())
}

// issue makes the value, id and record of a new secret in format f. The
// value is sealed only when seal is set.
func (r *Rotator) issue(f secrets.Format, seal bool) (store.Record, secrets.Value, error) {
	v, err := f.Generate()
	if err != nil {
		return store.Record{}, secrets.Value{}, err
	}
	rec := store.Record{
		ID:     newID(),
		Format: f,
		Hint:   v.Hint(),
		Digest: r.set.digester.DigestValue(v),
	}
	if seal {
		if r.set.keyring == nil {
			return store.Record{}, secrets.Value{}, &ValidationError{Field: "HMAC", Reason: "needs Options.Keyring to seal the value"}
		}
		if rec.Sealed, err = r.set.keyring.Seal(rec.ID, v); err != nil {
			return store.Record{}, secrets.Value{}, err
		}
	}
	return rec, v, nil
}

// Create makes a new secret for owner and returns it with its value, which
// is not kept and cannot be had again. The owner's first secret (more
// exactly: one created while no valid secret of the owner is designated) is
// designated to sign webhooks. Create fails with a [*LimitError] when the
// owner already has Policy.MaxActive active secrets, and with a
// [*ValidationError] for a spec out of range.
func (r *Rotator) Create(ctx context.Context, owner string, spec Spec) (*Issued, error) {
	if err := r.checkSpec(owner, &spec); err != nil {
		return nil, err
	}
	rec, v, err := r.issue(spec.Format, spec.HMAC || spec.Format.IsWebhook())
	if err != nil {
		return nil, err
	}
	rec.Name = spec.Name
	rec.Custom = spec.Custom
	rec.Scopes = slices.Clone(spec.Scopes)
	rec.Networks = slices.Clone(spec.Networks)
	rec.RateLimit = spec.RateLimit
	rec.Metadata = maps.Clone(spec.Metadata)
	rec.ExpiresAt = spec.ExpiresAt

	var saved store.Record
	err = r.update(ctx, owner, func(ks *store.Keyset, now time.Time) error {
		if !rec.ExpiresAt.IsZero() && !rec.ExpiresAt.After(now) {
			return &ValidationError{Field: "ExpiresAt", Reason: "must be in the future"}
		}
		if countStatus(ks, now, StatusActive) >= r.set.policy.MaxActive {
			return &LimitError{Owner: owner, Limit: r.set.policy.MaxActive}
		}
		saved = rec.Clone()
		saved.CreatedAt, saved.UpdatedAt = now, now
		saved.Signing = !slices.ContainsFunc(ks.Secrets, func(o store.Record) bool { return o.Signing && o.ValidAt(now) })
		ks.Secrets = append(ks.Secrets, saved)
		r.prune(ks, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	now := saved.CreatedAt
	out := &Issued{Secret: secretOf(owner, &saved, now), Value: v}
	r.emit(ctx, Event{Kind: EventCreated, Owner: owner, SecretID: saved.ID, Hint: saved.Hint, At: now})
	if saved.Signing {
		r.emit(ctx, Event{Kind: EventDesignated, Owner: owner, SecretID: saved.ID, Hint: saved.Hint, At: now})
	}
	return out, nil
}

func (r *Rotator) checkSpec(owner string, spec *Spec) error {
	switch {
	case owner == "":
		return &ValidationError{Field: "owner", Reason: "must not be empty"}
	case len(spec.Name) > MaxNameLen:
		return &ValidationError{Field: "Name", Reason: fmt.Sprintf("must be at most %d bytes", MaxNameLen)}
	case spec.RateLimit < 0:
		return &ValidationError{Field: "RateLimit", Reason: "must not be negative"}
	}
	if spec.Format == "" {
		spec.Format = r.set.format
	}
	if err := spec.Format.Validate(); err != nil {
		return &ValidationError{Field: "Format", Reason: err.Error()}
	}
	for _, s := range spec.Scopes {
		if s == "" {
			return &ValidationError{Field: "Scopes", Reason: "must not hold an empty scope"}
		}
	}
	for _, p := range spec.Networks {
		if !p.IsValid() || p != p.Masked() {
			return &ValidationError{Field: "Networks", Reason: fmt.Sprintf("%v is not a network address with its prefix length", p)}
		}
	}
	return nil
}

// Regenerate replaces an active, managed secret with a new one and returns
// the new one with its value. The new secret keeps the old one's name,
// format, scopes, networks, rate limit, metadata and expiry, and takes its
// designation if it had it.
//
// The old secret keeps working for grace (capped at its own expiry); a
// grace of 0 revokes it at once. grace must be from 0 to
// Policy.MaxGracePeriod, else Regenerate returns a [*ValidationError] and
// changes nothing. When more than Policy.MaxInGrace secrets would then be
// in a grace window, those that would expire soonest are cut short now and
// listed in [Regenerated.CutShort]: a regeneration never fails for lack of
// room.
//
// A secret that is not found, custom, or not active gives a [*SecretError]
// matching ErrNotFound, ErrNotManaged or ErrNotActive.
func (r *Rotator) Regenerate(ctx context.Context, owner, id string, grace time.Duration) (*Regenerated, error) {
	if grace < 0 || grace > r.set.policy.MaxGracePeriod {
		return nil, &ValidationError{Field: "grace", Reason: r.set.policy.graceRange() + ", got " + grace.String()}
	}
	var (
		v      secrets.Value
		fresh  store.Record // generated once, reused by every attempt
		saved  store.Record
		oldEnd time.Time
		cut    []string
	)
	err := r.update(ctx, owner, func(ks *store.Keyset, now time.Time) error {
		old, err := find(ks, "regenerate", id)
		if err != nil {
			return err
		}
		if old.Custom {
			return &SecretError{Op: "regenerate", Owner: owner, ID: id, Err: ErrNotManaged}
		}
		if st := old.StatusAt(now); st != StatusActive {
			return &SecretError{Op: "regenerate", Owner: owner, ID: id, Status: st, Err: ErrNotActive}
		}
		seal := !old.Sealed.IsZero()
		if fresh.ID == "" || fresh.Format != old.Format || fresh.Sealed.IsZero() == seal {
			if fresh, v, err = r.issue(old.Format, seal); err != nil {
				return err
			}
		}
		saved = fresh.Clone()
		saved.Name = old.Name
		saved.Scopes = slices.Clone(old.Scopes)
		saved.Networks = slices.Clone(old.Networks)
		saved.RateLimit = old.RateLimit
		saved.Metadata = maps.Clone(old.Metadata)
		saved.ExpiresAt = old.ExpiresAt
		saved.CreatedAt, saved.UpdatedAt = now, now
		saved.Signing = old.Signing

		old.Signing = false
		old.ReplacedBy = saved.ID
		old.UpdatedAt = now
		if grace == 0 {
			old.RevokedAt = now
		} else if end := now.Add(grace); old.ExpiresAt.IsZero() || end.Before(old.ExpiresAt) {
			old.ExpiresAt = end
		}
		ks.Secrets = append(ks.Secrets, saved) // old may dangle from here on
		cut = r.cutGrace(ks, now)
		oldEnd = time.Time{}
		if grace > 0 {
			oldEnd = ks.Secrets[ks.Find(id)].ExpiresAt
		}
		r.prune(ks, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	now := saved.CreatedAt
	out := &Regenerated{
		Issued:       Issued{Secret: secretOf(owner, &saved, now), Value: v},
		OldID:        id,
		OldExpiresAt: oldEnd,
		CutShort:     cut,
	}
	r.emit(ctx, Event{Kind: EventRegenerated, Owner: owner, SecretID: saved.ID, PreviousID: id, Hint: saved.Hint, At: now, OldExpiresAt: oldEnd, CutShort: slices.Clone(cut)})
	if saved.Signing {
		r.emit(ctx, Event{Kind: EventDesignated, Owner: owner, SecretID: saved.ID, PreviousID: id, Hint: saved.Hint, At: now})
	}
	return out, nil
}

// cutGrace ends now the grace windows that would end soonest, until at most
// Policy.MaxInGrace secrets are in grace, and returns their ids.
func (r *Rotator) cutGrace(ks *store.Keyset, now time.Time) []string {
	var in []int
	for i := range ks.Secrets {
		if ks.Secrets[i].StatusAt(now) == StatusGrace {
			in = append(in, i)
		}
	}
	excess := len(in) - r.set.policy.MaxInGrace
	if excess <= 0 {
		return nil
	}
	// Stable, so of equal ends the one rotated first goes first.
	slices.SortStableFunc(in, func(a, b int) int {
		return ks.Secrets[a].ExpiresAt.Compare(ks.Secrets[b].ExpiresAt)
	})
	cut := make([]string, 0, excess)
	for _, i := range in[:excess] {
		ks.Secrets[i].ExpiresAt = now
		ks.Secrets[i].UpdatedAt = now
		cut = append(cut, ks.Secrets[i].ID)
	}
	return cut
}

// prune drops the ended secrets beyond Policy.KeepEnded, those that ended
// first going first.
func (r *Rotator) prune(ks *store.Keyset, now time.Time) {
	type ended struct {
		at time.Time
		id string
	}
	var all []ended
	for i := range ks.Secrets {
		rec := &ks.Secrets[i]
		switch rec.StatusAt(now) {
		case StatusRevoked:
			all = append(all, ended{rec.RevokedAt, rec.ID})
		case StatusExpired:
			all = append(all, ended{rec.ExpiresAt, rec.ID})
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
	ks.Secrets = slices.DeleteFunc(ks.Secrets, func(rec store.Record) bool { return gone[rec.ID] })
}

func countStatus(ks *store.Keyset, now time.Time, st Status) int {
	n := 0
	for i := range ks.Secrets {
		if ks.Secrets[i].StatusAt(now) == st {
			n++
		}
	}
	return n
}
