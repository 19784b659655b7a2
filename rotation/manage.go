package rotation

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/rotorkit/rotor/store"
)

// SetSigning designates the secret id to sign the owner's webhooks, in
// place of the one that did. The secret must be active: one in grace,
// expired or revoked gives a [*SecretError] matching ErrNotActive.
// Designating the designated secret again changes nothing.
func (r *Rotator) SetSigning(ctx context.Context, owner, id string) error {
	var prev string
	var at time.Time
	var hint string
	changed := false
	err := r.update(ctx, owner, func(ks *store.Keyset, now time.Time) error {
		rec, err := find(ks, "designate", id)
		if err != nil {
			return err
		}
		if st := rec.StatusAt(now); st != StatusActive {
			return &SecretError{Op: "designate", Owner: owner, ID: id, Status: st, Err: ErrNotActive}
		}
		prev, at, hint, changed = "", now, rec.Hint, !rec.Signing
		if !changed {
			return errUnchanged
		}
		for i := range ks.Secrets {
			o := &ks.Secrets[i]
			if o.Signing {
				o.Signing, o.UpdatedAt, prev = false, now, o.ID
			}
		}
		rec.Signing, rec.UpdatedAt = true, now
		return nil
	})
	if err := r.settle(err); err != nil || !changed {
		return err
	}
	r.emit(ctx, Event{Kind: EventDesignated, Owner: owner, SecretID: id, PreviousID: prev, Hint: hint, At: at})
	return nil
}

// Revoke ends the secret id now. Revoking a revoked or expired secret
// changes nothing. The designated secret cannot be revoked (designate
// another first): that gives a [*SecretError] matching ErrDesignated.
// A secret in its grace window can be revoked, which ends the window.
func (r *Rotator) Revoke(ctx context.Context, owner, id string) error {
	var ev Event
	err := r.update(ctx, owner, func(ks *store.Keyset, now time.Time) error {
		rec, err := find(ks, "revoke", id)
		if err != nil {
			return err
		}
		ev = Event{}
		if !rec.ValidAt(now) {
			return errUnchanged
		}
		if rec.Signing {
			return &SecretError{Op: "revoke", Owner: owner, ID: id, Status: rec.StatusAt(now), Err: ErrDesignated}
		}
		rec.RevokedAt, rec.UpdatedAt = now, now
		ev = Event{Kind: EventRevoked, Owner: owner, SecretID: id, Hint: rec.Hint, At: now}
		r.prune(ks, now)
		return nil
	})
	if err := r.settle(err); err != nil || ev.Kind == 0 {
		return err
	}
	r.emit(ctx, ev)
	return nil
}

// Delete removes the secret id for good: it is no longer listed and its key
// is unknown. The designated secret cannot be deleted (designate another
// first): that gives a [*SecretError] matching ErrDesignated.
func (r *Rotator) Delete(ctx context.Context, owner, id string) error {
	var ev Event
	err := r.update(ctx, owner, func(ks *store.Keyset, now time.Time) error {
		rec, err := find(ks, "delete", id)
		if err != nil {
			return err
		}
		if rec.Signing {
			return &SecretError{Op: "delete", Owner: owner, ID: id, Status: rec.StatusAt(now), Err: ErrDesignated}
		}
		ev = Event{Kind: EventDeleted, Owner: owner, SecretID: id, Hint: rec.Hint, At: now}
		ks.Secrets = slices.DeleteFunc(ks.Secrets, func(o store.Record) bool { return o.ID == id })
		return nil
	})
	if err := r.settle(err); err != nil {
		return err
	}
	r.emit(ctx, ev)
	return nil
}

// List returns the owner's secrets, oldest first, each with its status now.
// An owner with no secrets has an empty list.
func (r *Rotator) List(ctx context.Context, owner string) ([]Secret, error) {
	ks, err := r.load(ctx, owner)
	if err != nil {
		return nil, err
	}
	now := r.set.now()
	out := make([]Secret, len(ks.Secrets))
	for i := range ks.Secrets {
		out[i] = secretOf(owner, &ks.Secrets[i], now)
	}
	return out, nil
}

// Get returns one secret of the owner with its status now, or a
// [*SecretError] matching ErrNotFound.
func (r *Rotator) Get(ctx context.Context, owner, id string) (Secret, error) {
	ks, err := r.load(ctx, owner)
	if err != nil {
		return Secret{}, err
	}
	i := ks.Find(id)
	if i < 0 {
		return Secret{}, &SecretError{Op: "get", Owner: owner, ID: shownID(id), Err: ErrNotFound}
	}
	return secretOf(owner, &ks.Secrets[i], r.set.now()), nil
}

// load reads the owner's keyset with the uses not yet written laid over
// it, so a list shows the latest use even between writes. An unknown owner
// has an empty keyset.
func (r *Rotator) load(ctx context.Context, owner string) (store.Keyset, error) {
	ks, err := r.st.Load(ctx, owner)
	if errors.Is(err, store.ErrNotFound) {
		return store.Keyset{Owner: owner}, nil
	}
	if err != nil {
		return store.Keyset{}, err
	}
	r.uses.overlay(&ks)
	return ks, nil
}

// errUnchanged ends an update whose change turned out to be nothing, so no
// version is spent on it.
var errUnchanged = errors.New("unchanged")

func (r *Rotator) settle(err error) error {
	if err == errUnchanged {
		return nil
	}
	return err
}

// find returns the record with id, or a *SecretError for op. The owner is
// filled in from the keyset.
func find(ks *store.Keyset, op, id string) (*store.Record, error) {
	i := ks.Find(id)
	if i < 0 {
		return nil, &SecretError{Op: op, Owner: ks.Owner, ID: shownID(id), Err: ErrNotFound}
	}
	return &ks.Secrets[i], nil
}
