package rotation

import (
	"context"
	"errors"
	"fmt"
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
// ErrScopeNotGranted. Other errors come from the store, or are
// ErrOverloaded.
//
// A key is looked up in the cache first (see Options.Cache), and only
// then in the store, which brings its owner's keyset into the cache. A
// key the store does not know is answered from memory for
// CacheOptions.MissTTL, and the store lookups such keys cost are capped
// (CacheOptions.MaxMissLookups): beyond the cap, a key not in the cache
// gets ErrOverloaded, not an [*AuthError], and is not looked up.
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
	if err := ctx.Err(); err != nil {
		return Principal{}, err // as a store would answer, cached or not
	}
	d := r.set.digester.Digest(key)
	now := r.set.now()
	h := r.lookup(d, now)
	var p Principal
	if h.i >= 0 && h.fresh {
		// The key as cached, read straight into what is shown: no record
		// unpacked, no field copied twice. The lookup compared every
		// digest of the keyset in constant time.
		h.s.p.principal(h.s.owner(), h.at, h.j, now, &p)
		if err := check(&p, now, req); err != nil {
			return Principal{}, err
		}
		p.Secret.Signing = h.s.p.signs(h.i, p.Secret.ID, p.Secret.CanSign(), now)
	} else {
		var err error
		if now, err = r.authenticateFound(ctx, d, now, h, req, &p); err != nil {
			return Principal{}, err
		}
	}
	use := store.Use{Owner: p.Owner, KeyID: p.Secret.ID, ValueID: p.Presented.ID, At: now, IP: req.IP}
	if dropped := r.uses.note(d, h.use, use, now); dropped > 0 {
		r.set.log.WarnContext(ctx, "rotation: dropping uses: too many are waiting to be written (is Run running?)",
			"dropped", dropped, "max_pending", r.set.maxPending)
	}
	// The result shows this use.
	sec := &p.Secret
	sec.LastUsedAt, sec.LastUsedIP = now, req.IP
	p.Presented.LastUsedAt, p.Presented.LastUsedIP = now, req.IP
	if !p.Previous {
		sec.Current = p.Presented
	}
	for i := range sec.Previous {
		if sec.Previous[i].ID == p.Presented.ID {
			sec.Previous[i] = p.Presented
		}
	}
	return p, nil
}

// authenticateFound is Authenticate past a cache that cannot answer
// alone, h being where it placed d at now: it finds the key, reads it
// into p, runs the checks and tells whether it signs, and returns the
// instant it checked at.
func (r *Rotator) authenticateFound(ctx context.Context, d secrets.Digest, now time.Time, h hit, req Request, p *Principal) (time.Time, error) {
	f, err := r.find(ctx, d, now, h)
	if err != nil {
		return now, err
	}
	rec := &f.rec
	match := matchingValue(rec, d)
	if match == nil {
		return now, &AuthError{Err: ErrInvalidKey}
	}
	now = r.set.now() // the store may have taken a while
	// rec is this call's own: unpacked from the cache, or the store's
	// answer.
	*p = Principal{Owner: f.owner, Secret: secretOf(f.owner, rec, false, now), Presented: valueInfo(match), Previous: match != &rec.Current}
	if err := check(p, now, req); err != nil {
		return now, err
	}
	p.Secret.Signing = f.signs(ctx, r, &p.Secret, now)
	return now, nil
}

// check runs Authenticate's checks of the key p found at instant now,
// for req, in order: revoked, expired, network, scope.
func check(p *Principal, now time.Time, req Request) error {
	sec := &p.Secret
	var reason error
	switch {
	case sec.Status == StatusRevoked:
		reason = ErrRevoked
	case sec.Status == StatusExpired, p.Previous && !now.Before(p.Presented.ExpiresAt):
		reason = ErrExpired
	case !allowed(sec.Networks, req.IP):
		reason = ErrNetworkNotAllowed
	case req.Scope != "" && !sec.HasScope(req.Scope):
		reason = ErrScopeNotGranted
	default:
		return nil
	}
	return &AuthError{Err: reason, Owner: p.Owner, SecretID: sec.ID, IP: req.IP, Scope: req.Scope}
}

// matchingValue returns the value of rec whose digest is d, or nil. The
// index matched on the digest; this compares again, every value and in
// constant time, so that no backend's lookup is the only check. By index,
// not through Record.Values: a pointer handed to an iterator's yield
// moves the whole record to the heap.
func matchingValue(rec *store.Record, d secrets.Digest) *store.Value {
	var match *store.Value
	if rec.Current.Digest.Equal(d) {
		match = &rec.Current
	}
	for i := range rec.Previous {
		if rec.Previous[i].Digest.Equal(d) {
			match = &rec.Previous[i]
		}
	}
	return match
}

// found is where a presented digest was found: in a snapshot of its
// owner's keyset, or, if none could be read, in the store's answer alone.
type found struct {
	owner string
	rec   store.Record // the key, this call's own; from a snapshot, without its values' sealed forms
	snap  *snapshot    // the owner's keyset that holds rec, if read
	i     int          // rec's index in snap
	match *store.Match // the store's answer, when snap is nil
}

// signs reports whether the key found, shown as sec and active at now,
// signs its owner's webhooks at now.
func (f *found) signs(ctx context.Context, r *Rotator, sec *Secret, now time.Time) bool {
	if f.snap != nil {
		return f.snap.p.signs(f.i, sec.ID, sec.CanSign(), now)
	}
	return r.signs(ctx, f.match, now)
}

// find finds the key that has a value whose digest is d: in a cached
// keyset that may be served, else in one read again for the owner of a
// cached keyset that may not, else in the store, within the bounds on
// unknown digests. h is where the cache placed d at now. A key it cannot
// find is an [*AuthError] matching ErrInvalidKey.
func (r *Rotator) find(ctx context.Context, d secrets.Digest, now time.Time, h hit) (found, error) {
	in := func(s *snapshot, i, at int) (found, error) {
		if i < 0 {
			return found{}, unknown() // the key has left its owner since
		}
		return found{owner: s.owner(), rec: s.p.shown(at), snap: s, i: i}, nil
	}
	s := h.s
	switch {
	case h.i >= 0 && h.fresh:
		return in(s, h.i, h.at)
	case h.i >= 0:
		// The digest's owner is known: read it again, not the index.
		s, err := r.snapshot(ctx, s.owner())
		if errors.Is(err, store.ErrNotFound) {
			return found{}, unknown()
		}
		if err != nil {
			return found{}, err
		}
		i, _, at := s.p.find(d)
		return in(s, i, at)
	}
	var m store.Match
	err := r.boundedRead(d, now, errOverloaded, func() (err error) {
		m, err = r.st.Lookup(ctx, d)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return found{}, unknown()
	case err != nil:
		return found{}, err
	}
	// The owner's keyset comes into the cache, whatever copy is there: a
	// copy that lacks the key is stale.
	s, err = r.reload(ctx, m.Owner)
	switch {
	case err == nil:
		i, _, at := s.p.find(d)
		return in(s, i, at)
	case errors.Is(err, store.ErrNotFound):
		return found{}, unknown()
	}
	// The lookup stands: it came from the store itself.
	r.set.log.DebugContext(ctx, "rotation: reading the owner of a key found failed", "owner", m.Owner, "err", err)
	return found{owner: m.Owner, rec: m.Key, match: &m}, nil
}

// boundedRead runs read, a store read of what d names, within the bounds
// on reads of what the store may not hold (CacheOptions.MissTTL and
// MaxMissLookups): for a d the store did not hold less than MissTTL ago
// it returns store.ErrNotFound without reading, once the cap is reached
// overloaded, and otherwise read's error, remembering d when that matches
// store.ErrNotFound. Reads that find something cost the cap nothing.
func (r *Rotator) boundedRead(d secrets.Digest, now time.Time, overloaded error, read func() error) error {
	switch {
	case r.misses.has(d, now):
		return store.ErrNotFound
	case !r.lookups.begin(now):
		return overloaded
	}
	err := read()
	r.lookups.end(r.set.now(), err == nil)
	if errors.Is(err, store.ErrNotFound) {
		r.misses.add(d, now)
	}
	return err
}

// errOverloaded is Authenticate's ErrOverloaded, made once: a flood of
// unknown keys meets it for each.
var errOverloaded = fmt.Errorf("rotation: authenticate: %w; retry later", ErrOverloaded)

// unknown is the refusal of a key that no keyset holds.
func unknown() error { return &AuthError{Err: ErrInvalidKey} }

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
	s, err := r.snapshot(ctx, m.Owner)
	if err != nil {
		r.set.log.WarnContext(ctx, "rotation: cannot tell which key signs; reported as not signing", "owner", m.Owner, "err", err)
		return false
	}
	ks := s.keyset()
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
