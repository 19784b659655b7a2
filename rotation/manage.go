package rotation

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/rotorkit/rotor/store"
)

// SetSigning designates the secret id to sign the owner's webhooks, in
// place of the one that did. The secret must be active, else a
// [*SecretError] matching ErrNotActive, and able to sign (created with
// HMAC, or in the webhook format), else one matching ErrCannotSign.
// Designating the designated secret again changes nothing.
func (r *Rotator) SetSigning(ctx context.Context, owner, id string) error {
	out, err := r.update(ctx, owner, change{
		apply: func(ks *store.Keyset, now time.Time) error {
			rec, err := find(ks, "designate", id)
			if err != nil {
				return err
			}
			switch st := rec.StatusAt(now); {
			case st != StatusActive:
				return &SecretError{Op: "designate", Owner: owner, ID: id, Status: st, Err: ErrNotActive}
			case !rec.CanSign():
				return &SecretError{Op: "designate", Owner: owner, ID: id, Status: st, Err: ErrCannotSign}
			case ks.Signing == id:
				return errUnchanged
			}
			ks.Signing = id
			rec.UpdatedAt = now
			return nil
		},
		landed: func(ks *store.Keyset) bool { return ks.Signing == id },
	})
	if err := settle(err); err != nil || out.ks.Owner == "" {
		return err
	}
	r.emitDesignation(ctx, out)
	r.emitNotices(ctx, out)
	return nil
}

// Revoke ends the secret id now, with all its values, including those in
// a grace window. Revoking a revoked or expired secret changes nothing.
// The designated secret cannot be revoked (designate another first): that
// gives a [*SecretError] matching ErrDesignated.
func (r *Rotator) Revoke(ctx context.Context, owner, id string) error {
	out, err := r.update(ctx, owner, change{
		apply: func(ks *store.Keyset, now time.Time) error {
			rec, err := find(ks, "revoke", id)
			if err != nil {
				return err
			}
			if !rec.ValidAt(now) {
				return errUnchanged
			}
			if i := signingIndex(ks, now); i >= 0 && ks.Keys[i].ID == id {
				return &SecretError{Op: "revoke", Owner: owner, ID: id, Status: rec.StatusAt(now), Err: ErrDesignated}
			}
			rec.RevokedAt, rec.UpdatedAt = now, now
			return nil
		},
		landed: func(ks *store.Keyset) bool {
			i := ks.Find(id)
			return i < 0 || !ks.Keys[i].RevokedAt.IsZero()
		},
	})
	if err := settle(err); err != nil || out.ks.Owner == "" {
		return err
	}
	hint := ""
	if i := out.ks.Find(id); i >= 0 {
		hint = out.ks.Keys[i].Current.Hint
	}
	r.emit(ctx, Event{Kind: EventRevoked, Owner: owner, SecretID: id, Hint: hint, At: out.now})
	r.emitDesignation(ctx, out)
	r.emitNotices(ctx, out)
	return nil
}

// Delete removes the secret id for good, with all its values: it is no
// longer listed and none of its keys is known. The designated secret
// cannot be deleted while it is active (designate another first): that
// gives a [*SecretError] matching ErrDesignated. Once it has expired it
// is no longer designated, and can be.
func (r *Rotator) Delete(ctx context.Context, owner, id string) error {
	var hint string
	out, err := r.update(ctx, owner, change{
		apply: func(ks *store.Keyset, now time.Time) error {
			rec, err := find(ks, "delete", id)
			if err != nil {
				return err
			}
			if i := signingIndex(ks, now); i >= 0 && ks.Keys[i].ID == id {
				return &SecretError{Op: "delete", Owner: owner, ID: id, Status: rec.StatusAt(now), Err: ErrDesignated}
			}
			hint = rec.Current.Hint
			ks.Keys = slices.DeleteFunc(ks.Keys, func(k store.Record) bool { return k.ID == id })
			return nil
		},
		landed: func(ks *store.Keyset) bool { return ks.Find(id) < 0 },
	})
	if err != nil {
		return err
	}
	r.emit(ctx, Event{Kind: EventDeleted, Owner: owner, SecretID: id, Hint: hint, At: out.now})
	r.emitDesignation(ctx, out)
	r.emitNotices(ctx, out)
	return nil
}

// Update changes the attributes of the active secret id in one step:
// edit is given a copy of them, whose Metadata is never nil, and changes
// what it will. Name, Scopes,
// Networks, RateLimit, Metadata and ExpiresAt may change, under the rules
// of [Rotator.Create]; Format, Custom and HMAC may not, which is a
// [*ValidationError]. ExpiresAt may be brought forward or removed, or
// moved on; it must stay in the future, and previous values never
// outlive it, so bringing it forward shortens their windows too, while
// moving it on never lengthens them.
//
// edit may be called more than once, each time on a fresh copy, when
// other changes to the owner race with this one, so it must depend only
// on what it is given. An edit that changes nothing saves nothing. A
// secret that is not found, or not active, gives a [*SecretError]
// matching ErrNotFound or ErrNotActive.
func (r *Rotator) Update(ctx context.Context, owner, id string, edit func(*Attributes)) (Secret, error) {
	var attrs Attributes // as saved
	out, err := r.update(ctx, owner, change{
		apply: func(ks *store.Keyset, now time.Time) error {
			rec, err := find(ks, "update", id)
			if err != nil {
				return err
			}
			if st := rec.StatusAt(now); st != StatusActive {
				return &SecretError{Op: "update", Owner: owner, ID: id, Status: st, Err: ErrNotActive}
			}
			next := rec.Attributes.Clone()
			if next.Metadata == nil {
				next.Metadata = make(map[string]string) // so that edit can set an entry
			}
			edit(&next)
			if len(next.Metadata) == 0 {
				next.Metadata = nil
			}
			switch {
			case next.Format != rec.Format:
				return &ValidationError{Field: "Format", Reason: "cannot be changed"}
			case next.Custom != rec.Custom:
				return &ValidationError{Field: "Custom", Reason: "cannot be changed"}
			case next.HMAC != rec.HMAC:
				return &ValidationError{Field: "HMAC", Reason: "cannot be changed"}
			case !next.ExpiresAt.IsZero() && !next.ExpiresAt.After(now):
				return &ValidationError{Field: "ExpiresAt", Reason: "must be in the future"}
			}
			if err := next.Validate(); err != nil {
				return validation(err)
			}
			if sameAttributes(&next, &rec.Attributes) {
				return errUnchanged
			}
			attrs = next.Clone()
			if !next.ExpiresAt.Equal(rec.ExpiresAt) {
				// Reminded afresh for the new expiry, but, as at Create,
				// not of leads it is within already.
				rec.RemindedFor, rec.RemindedAt = next.ExpiresAt, now
				if next.ExpiresAt.IsZero() {
					rec.RemindedAt = time.Time{}
				}
			}
			rec.Attributes = next
			rec.UpdatedAt = now
			if !next.ExpiresAt.IsZero() {
				for i := range rec.Previous {
					if p := &rec.Previous[i]; next.ExpiresAt.Before(p.ExpiresAt) {
						p.ExpiresAt = next.ExpiresAt
					}
				}
			}
			return nil
		},
		landed: func(ks *store.Keyset) bool {
			i := ks.Find(id)
			return i >= 0 && sameAttributes(&ks.Keys[i].Attributes, &attrs)
		},
	})
	if err == errUnchanged {
		return r.Get(ctx, owner, id)
	}
	if err != nil {
		return Secret{}, err
	}
	r.uses.overlay(&out.ks) // the result shows the latest use, as Get does
	rec := &out.ks.Keys[out.ks.Find(id)]
	r.emit(ctx, Event{Kind: EventUpdated, Owner: owner, SecretID: id, Hint: rec.Current.Hint, At: out.now})
	r.emitDesignation(ctx, out)
	r.emitNotices(ctx, out)
	return secretOf(owner, rec, out.ks.Signing == id, out.now), nil
}

// sameAttributes reports whether a and b are equal, times by instant and
// nil the same as empty.
func sameAttributes(a, b *Attributes) bool {
	return a.Name == b.Name && a.Format == b.Format && a.Custom == b.Custom && a.HMAC == b.HMAC &&
		slices.Equal(a.Scopes, b.Scopes) && slices.Equal(a.Networks, b.Networks) &&
		a.RateLimit == b.RateLimit && maps.Equal(a.Metadata, b.Metadata) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// DeleteOwner removes every secret of owner for good, the designated one
// included: none of their keys is known from the moment it returns, and
// the owner's list is empty. The store keeps the owner's version, and
// nothing else, so a writer that read the owner before cannot bring its
// secrets back. Deleting an owner with no secrets changes nothing.
func (r *Rotator) DeleteOwner(ctx context.Context, owner string) error {
	var n int
	out, err := r.update(ctx, owner, change{
		apply: func(ks *store.Keyset, _ time.Time) error {
			if len(ks.Keys) == 0 && ks.Signing == "" {
				return errUnchanged
			}
			n = len(ks.Keys)
			ks.Keys, ks.Signing = nil, ""
			return nil
		},
		landed: func(ks *store.Keyset) bool { return len(ks.Keys) == 0 },
	})
	if err := settle(err); err != nil || out.ks.Owner == "" {
		return err
	}
	r.emit(ctx, Event{Kind: EventOwnerDeleted, Owner: owner, At: out.now, Count: n})
	return nil
}

// List returns the owner's secrets, oldest first, one entry per secret
// with its status now and the previous values still in their grace
// windows. An owner with no secrets has an empty list. It reads the
// owner's keyset from the cache when a copy there may be served (see
// Caching in the package doc), else from the store.
func (r *Rotator) List(ctx context.Context, owner string) ([]Secret, error) {
	ks, err := r.load(ctx, owner)
	if err != nil {
		return nil, err
	}
	now := r.set.now()
	signing := signingIndex(&ks, now)
	out := make([]Secret, 0, len(ks.Keys))
	for i := range ks.Keys {
		out = append(out, secretOf(owner, &ks.Keys[i], i == signing, now))
	}
	return out, nil
}

// Get returns the secret id of owner, or a [*SecretError] matching
// ErrNotFound. It reads as [Rotator.List] does.
func (r *Rotator) Get(ctx context.Context, owner, id string) (Secret, error) {
	ks, err := r.load(ctx, owner)
	if err != nil {
		return Secret{}, err
	}
	rec, err := find(&ks, "get", id)
	if err != nil {
		return Secret{}, err
	}
	now := r.set.now()
	i := signingIndex(&ks, now)
	return secretOf(owner, rec, i >= 0 && ks.Keys[i].ID == id, now), nil
}

// load returns a copy of the owner's keyset, from the cache (see
// Options.Cache) or else the store, with the uses not yet written laid
// over it, so a list shows the latest use even between writes. An unknown
// owner has an empty keyset; an owner no store could hold is a
// [*ValidationError].
func (r *Rotator) load(ctx context.Context, owner string) (store.Keyset, error) {
	if err := checkOwner(owner); err != nil {
		return store.Keyset{}, err
	}
	s, err := r.snapshot(ctx, owner)
	if errors.Is(err, store.ErrNotFound) {
		return store.Keyset{Owner: owner}, nil
	}
	if err != nil {
		return store.Keyset{}, err
	}
	ks := s.keyset()
	r.uses.overlay(&ks)
	return ks, nil
}

// errUnchanged ends an update whose change turned out to be nothing, so no
// version is spent on it.
var errUnchanged = errors.New("unchanged")

func settle(err error) error {
	if err == errUnchanged {
		return nil
	}
	return err
}
