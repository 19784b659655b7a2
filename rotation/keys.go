package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// A Rotator is the key source of hmacsign's Signer and Verifier.
var _ hmacsign.KeySource = (*Rotator)(nil)

// keySnap is one owner's HMAC keys as of one read of its keyset. It is
// immutable once stored in Rotator.keys, so verifiers read it without
// locks while rotations build the next one.
type keySnap struct {
	stale  bool      // a marker left by a save: the next reader rebuilds
	built  time.Time // by the Rotator's clock
	epoch  uint64    // Rotator.keyEpoch when the build began
	sign   []hmacsign.Key
	verify []hmacsign.Key
}

// SigningKeys returns the keys to sign the owner's webhooks with now: the
// designated secret's current value first, then its previous values still
// in their grace windows, newest first, so receivers that have not yet
// switched keep verifying. Only secrets that can sign (created with HMAC,
// or in the webhook format) have keys; each key's id is its secret's id.
// The slice is shared: do not modify it.
func (r *Rotator) SigningKeys(ctx context.Context, owner string) ([]hmacsign.Key, error) {
	s, err := r.keySnap(ctx, owner)
	if err != nil {
		return nil, err
	}
	return s.sign, nil
}

// VerifyingKeys returns a key for every value of the owner's secrets that
// is valid now: current values of active secrets, and previous values in
// their grace windows. The slice is shared: do not modify it.
//
// Keys are built once per owner and reused: changes made through this
// Rotator are seen at once, changes made by other processes sharing the
// store within Options.KeyRefresh, or as soon as the store reports them
// if it is a [store.Invalidator] (package cachestore).
func (r *Rotator) VerifyingKeys(ctx context.Context, owner string) ([]hmacsign.Key, error) {
	s, err := r.keySnap(ctx, owner)
	if err != nil {
		return nil, err
	}
	return s.verify, nil
}

func (r *Rotator) keySnap(ctx context.Context, owner string) (*keySnap, error) {
	now := r.set.now()
	epoch := r.keyEpoch.Load()
	cur, cached := r.keys.Load(owner)
	if cached {
		s := cur.(*keySnap)
		if !s.stale && s.epoch == epoch && now.Sub(s.built) < r.set.keyRefresh {
			return s, nil
		}
	}
	if !store.ValidOwner(owner) {
		// No store could hold such an owner, so it has no keys: a
		// verifier given it fails closed, as for any unknown owner.
		return &keySnap{built: now}, nil
	}
	ks, err := r.st.Load(ctx, owner)
	if errors.Is(err, store.ErrNotFound) {
		// Not cached, so requests naming made-up owners cannot fill memory.
		return &keySnap{built: now}, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := r.buildKeys(&ks, now)
	if err != nil {
		return nil, err
	}
	s.epoch = epoch
	// Install it unless a save replaced what was read meanwhile: then the
	// next reader builds again from the newer keyset.
	if cached {
		r.keys.CompareAndSwap(owner, cur, s)
	} else {
		r.keys.LoadOrStore(owner, s)
	}
	return s, nil
}

// forgetKeys marks the owner's keys stale after a save. A fresh marker
// each time, so a build that started before this save cannot install
// itself over it. The owner "" forgets every owner's keys: builds begun
// before are stale by their epoch.
func (r *Rotator) forgetKeys(owner string) {
	if owner == "" {
		r.keyEpoch.Add(1)
		r.keys.Clear()
		return
	}
	r.keys.Store(owner, &keySnap{stale: true})
}

func (r *Rotator) buildKeys(ks *store.Keyset, now time.Time) (*keySnap, error) {
	s := &keySnap{built: now}
	signing := signingIndex(ks, now)
	for i := range ks.Keys {
		rec := &ks.Keys[i]
		if !rec.HMAC || !rec.ValidAt(now) {
			continue
		}
		for v := range rec.Values() {
			end := rec.ExpiresAt
			if v != &rec.Current {
				if !now.Before(v.ExpiresAt) {
					continue
				}
				if end.IsZero() || v.ExpiresAt.Before(end) {
					end = v.ExpiresAt
				}
			}
			k, err := r.hmacKey(rec.ID, v, end)
			if errors.Is(err, hmacsign.ErrInvalidKey) {
				// One unusable value (too short to sign with) must not take
				// the owner's other keys down with it.
				r.set.log.Warn("rotation: secret cannot sign; skipped", "owner", ks.Owner, "secret", rec.ID, "err", err)
				continue
			}
			if err != nil {
				return nil, err
			}
			s.verify = append(s.verify, k)
			if i == signing {
				// Values come current first, then previous newest first.
				s.sign = append(s.sign, k)
			}
		}
	}
	return s, nil
}

// hmacKey opens the sealed value v of the secret id and prepares it to
// sign and verify until end.
func (r *Rotator) hmacKey(id string, v *store.Value, end time.Time) (hmacsign.Key, error) {
	if r.set.keyring == nil {
		return hmacsign.Key{}, &OptionError{Field: "Keyring", Reason: "is nil, and secret " + id + " has a sealed value to open"}
	}
	plain, err := r.set.keyring.Open(v.ID, v.Sealed)
	if errors.Is(err, secrets.ErrUnknownKEK) {
		return hmacsign.Key{}, &OptionError{Field: "Keyring", Reason: "cannot open a value of secret " + id + ": " + err.Error()}
	}
	if err != nil {
		return hmacsign.Key{}, fmt.Errorf("rotation: opening a value of secret %s: %w", id, err)
	}
	return hmacsign.NewKey(id, plain, end)
}
