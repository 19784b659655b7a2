package rotation

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// A Rotator is the key source of hmacsign's Signer and Verifier.
var _ hmacsign.KeySource = (*Rotator)(nil)

// keySnap is the HMAC keys of one snapshot of an owner's keyset, as of
// the instant they were built. It is immutable, so verifiers read it
// without locks while rotations build the next one.
type keySnap struct {
	// from and until bound the instants whose keys these are, by the
	// Rotator's clock: from is the last instant, up to the build, at which
	// a key, a value or the designation of the keyset stopped working
	// (zero if none did), until the first after it (zero if none will).
	from, until time.Time
	sign        []hmacsign.Key
	verify      []hmacsign.Key
}

// validAt reports whether the keys are those of instant now.
func (k *keySnap) validAt(now time.Time) bool {
	return !now.Before(k.from) && (k.until.IsZero() || now.Before(k.until))
}

// noKeys is the keys of an owner that has none.
var noKeys = &keySnap{}

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
// Keys are built from the owner's cached keyset (see Options.Cache) once,
// and again only when one of them starts or stops working: changes made
// through this Rotator are seen at once, changes made by other processes
// sharing the store as soon as [Rotator.Run] hears of them, and never
// later than CacheOptions.MaxAge.
//
// An owner the store does not hold has no keys. Since the sender of a
// webhook names the owner, such owners are treated as made-up keys are
// by [Rotator.Authenticate]: each is remembered for CacheOptions.MissTTL,
// and the store reads they cost count against CacheOptions.MaxMissLookups,
// beyond which uncached owners get an error matching ErrOverloaded.
func (r *Rotator) VerifyingKeys(ctx context.Context, owner string) ([]hmacsign.Key, error) {
	s, err := r.keySnap(ctx, owner)
	if err != nil {
		return nil, err
	}
	return s.verify, nil
}

func (r *Rotator) keySnap(ctx context.Context, owner string) (*keySnap, error) {
	if !store.ValidOwner(owner) {
		// No store could hold such an owner, so it has no keys: a
		// verifier given it fails closed, as for any unknown owner.
		return noKeys, nil
	}
	snap, err := r.ownerSnapshot(ctx, owner)
	if errors.Is(err, store.ErrNotFound) {
		return noKeys, nil // and nothing is cached for it
	}
	if err != nil {
		return nil, err
	}
	now := r.set.now()
	cur := snap.keys.Load()
	if cur != nil && cur.validAt(now) {
		return cur, nil
	}
	ks := snap.keyset()
	k, err := r.buildKeys(&ks, now)
	if err != nil {
		return nil, err
	}
	// Of builds racing, one stays; each caller keeps its own.
	snap.keys.CompareAndSwap(cur, k)
	return k, nil
}

// ownerSnapshot is snapshot for an owner named by a caller's caller, such
// as the sender of a webhook: an owner the store turned out not to hold
// is remembered, and the reads such owners cost are capped, as made-up
// keys are in Authenticate, so that a flood of made-up owners reaches the
// store no faster than CacheOptions.MaxMissLookups a second. Beyond the
// cap it returns ErrOverloaded.
func (r *Rotator) ownerSnapshot(ctx context.Context, owner string) (*snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := r.set.now()
	s, t := r.cache.get(owner, now)
	if s != nil {
		return s, nil
	}
	err := r.boundedRead(ownerDigest(owner), now, errKeysOverloaded, func() (err error) {
		s, err = r.fill(ctx, owner, t)
		return err
	})
	return s, err
}

var errKeysOverloaded = fmt.Errorf("rotation: keys: %w; retry later", ErrOverloaded)

// ownerDigest names an owner among the digests that misses remembers. Its
// input starts with a byte no key holds, so that it never stands for a
// key's digest.
func ownerDigest(owner string) secrets.Digest {
	return sha256.Sum256([]byte("\x00owner\x00" + owner))
}

// buildKeys builds the HMAC keys of ks at instant now.
func (r *Rotator) buildKeys(ks *store.Keyset, now time.Time) (*keySnap, error) {
	s := &keySnap{}
	// Keys built now hold from the last bound up to now to the first
	// after it: a secret that expires or is revoked, a window that
	// closes. The designation passes on only at such a bound too.
	later := func(t time.Time) {
		switch {
		case t.IsZero():
		case t.After(now):
			if s.until.IsZero() || t.Before(s.until) {
				s.until = t
			}
		case t.After(s.from):
			s.from = t
		}
	}
	signing := signingIndex(ks, now)
	for i := range ks.Keys {
		rec := &ks.Keys[i]
		later(rec.ExpiresAt)
		later(rec.RevokedAt)
		for j := range rec.Previous {
			later(rec.Previous[j].ExpiresAt)
		}
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
