package rotation

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// Authenticate checks a presented key and returns whose it is: the
// secret, with the same id whichever of its values was presented, and
// which value matched. A previous value inside its grace window
// authenticates as its secret, with [Principal.Previous] set and
// [Principal.Presented] saying when it stops working.
//
// The checks run cheapest first, and each failure is an [*AuthError] whose
// reason a handler can map to a response: an empty key is ErrMissingKey; a
// key of the wrong shape or with a bad checksum is ErrInvalidKey, decided
// offline without reaching the store; an unknown key is ErrInvalidKey; then
// ErrRevoked, ErrExpired (both also match ErrInvalidKey; ErrExpired also
// for a previous value whose window has ended), ErrNetworkNotAllowed and
// ErrScopeNotGranted. Other errors come from the store.
//
// A success records the use (time and req.IP) for the value and for its
// secret, in memory: [Rotator.Run] writes them in batches, once per
// Options.UseInterval, and [Rotator.Flush] at once; [Rotator.List] shows
// them before they are written. Authenticate itself never writes.
func (r *Rotator) Authenticate(ctx context.Context, key string, req Request) (Principal, error) {
	if key == "" {
		return Principal{}, &AuthError{Err: ErrMissingKey}
	}
	if _, err := secrets.ParseKey(key); err != nil {
		return Principal{}, &AuthError{Err: ErrInvalidKey, cause: err}
	}
	d := r.set.digester.Digest(key)
	m, err := r.st.Lookup(ctx, d)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, &AuthError{Err: ErrInvalidKey}
	}
	if err != nil {
		return Principal{}, err
	}
	owner, rec := m.Owner, &m.Key
	// The index matched on the digest; compare again, every value and in
	// constant time, so that no backend's lookup is the only check.
	// By index, not through Record.Values: a pointer handed to an
	// iterator's yield moves the whole match to the heap.
	var match *store.Value
	if rec.Current.Digest.Equal(d) {
		match = &rec.Current
	}
	for i := range rec.Previous {
		if rec.Previous[i].Digest.Equal(d) {
			match = &rec.Previous[i]
		}
	}
	if match == nil {
		return Principal{}, &AuthError{Err: ErrInvalidKey}
	}
	now := r.set.now()
	fail := func(reason error) (Principal, error) {
		return Principal{}, &AuthError{Err: reason, Owner: owner, SecretID: rec.ID, IP: req.IP, Scope: req.Scope}
	}
	previous := match != &rec.Current
	switch {
	case rec.StatusAt(now) == StatusRevoked:
		return fail(ErrRevoked)
	case rec.StatusAt(now) == StatusExpired, previous && !now.Before(match.ExpiresAt):
		return fail(ErrExpired)
	case !allowed(rec.Networks, req.IP):
		return fail(ErrNetworkNotAllowed)
	case req.Scope != "" && !rec.HasScope(req.Scope):
		return fail(ErrScopeNotGranted)
	}
	use := store.Use{Owner: owner, KeyID: rec.ID, ValueID: match.ID, At: now, IP: req.IP}
	if dropped := r.uses.note(use, now); dropped > 0 {
		r.set.log.WarnContext(ctx, "rotation: dropping uses: too many are waiting to be written (is Run running?)",
			"dropped", dropped, "max_pending", r.set.maxPending)
	}
	rec.LastUsedAt, rec.LastUsedIP = now, req.IP
	match.LastUsedAt, match.LastUsedIP = now, req.IP
	return Principal{
		Owner:     owner,
		Secret:    secretOf(owner, rec, r.signs(ctx, &m, now), now),
		Presented: valueInfo(match),
		Previous:  previous,
	}, nil
}

// signs reports whether the key m found, valid at now, signs its owner's
// webhooks, by the rule of [settleSigning]. The designation m reports
// answers but in one case: the designated key has expired since the
// owner's last change, and the oldest active key that can sign has taken
// over. Only the whole keyset tells which that is, so only then is it
// read.
func (r *Rotator) signs(ctx context.Context, m *store.Match, now time.Time) bool {
	switch {
	case m.Signing == m.Key.ID:
		return true
	case m.Signing == "", !m.Key.CanSign():
		return false
	case m.SigningExpiresAt.IsZero(), now.Before(m.SigningExpiresAt):
		return false // the designated key still holds
	}
	ks, err := r.st.Load(ctx, m.Owner)
	if err != nil {
		r.set.log.WarnContext(ctx, "rotation: cannot tell which key signs; reported as not signing", "owner", m.Owner, "err", err)
		return false
	}
	i := signingIndex(&ks, now)
	return i >= 0 && ks.Keys[i].ID == m.Key.ID
}

// allowed reports whether ip is inside one of nets; no nets allow any ip.
func allowed(nets []netip.Prefix, ip netip.Addr) bool {
	if len(nets) == 0 {
		return true
	}
	ip = ip.Unmap()
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
