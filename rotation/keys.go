package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
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
// designated secret's first, then those of its predecessors still in
// their grace window, so receivers that have not yet switched keep
// verifying. Only secrets created with HMAC (or in the webhook format)
// have keys. The slice is shared: do not modify it.
func (r *Rotator) SigningKeys(ctx context.Context, owner string) ([]hmacsign.Key, error) {
	s, err := r.keySnap(ctx, owner)
	if err != nil {
		return nil, err
	}
	return s.sign, nil
}

// VerifyingKeys returns the keys of every secret of the owner that is
// valid now, active or in grace. The slice is shared: do not modify it.
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
	byID := make(map[string]hmacsign.Key)
	for i := range ks.Secrets {
		rec := &ks.Secrets[i]
		if rec.Sealed.IsZero() || !rec.ValidAt(now) {
			continue
		}
		k, err := r.hmacKey(rec)
		if errors.Is(err, hmacsign.ErrInvalidKey) {
			// One unusable secret (too short to sign with) must not take
			// the owner's other keys down with it.
			r.set.log.Warn("rotation: secret cannot sign; skipped", "owner", ks.Owner, "secret", rec.ID, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		byID[rec.ID] = k
		s.verify = append(s.verify, k)
	}
	// The designated key, then its predecessors in grace, newest first.
	id := ""
	for i := range ks.Secrets {
		if ks.Secrets[i].Signing {
			id = ks.Secrets[i].ID
		}
	}
	for range ks.Secrets { // bounded: a chain cannot be longer than the keyset
		k, ok := byID[id]
		if !ok {
			break
		}
		s.sign = append(s.sign, k)
		id = predecessor(ks, id, now)
	}
	return s, nil
}

// predecessor returns the id of the secret in grace that id replaced, or "".
func predecessor(ks *store.Keyset, id string, now time.Time) string {
	for i := range ks.Secrets {
		if rec := &ks.Secrets[i]; rec.ReplacedBy == id && rec.StatusAt(now) == StatusGrace {
			return rec.ID
		}
	}
	return ""
}

func (r *Rotator) hmacKey(rec *store.Record) (hmacsign.Key, error) {
	if r.set.keyring == nil {
		return hmacsign.Key{}, fmt.Errorf("rotation: secret %s is sealed but Options.Keyring is nil", rec.ID)
	}
	v, err := r.set.keyring.Open(rec.ID, rec.Sealed)
	if err != nil {
		return hmacsign.Key{}, fmt.Errorf("rotation: opening secret %s: %w", rec.ID, err)
	}
	return hmacsign.NewKey(rec.ID, v, rec.ExpiresAt)
}
