package rotation

import (
	"context"
	"errors"
	"net/netip"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// Request is what Authenticate needs to know about the request a key came
// with.
type Request struct {
	// IP is the client address, checked against the key's authorized
	// networks and recorded as its last use. The zero Addr passes only
	// keys with no authorized networks.
	IP netip.Addr
	// Scope is the scope the request needs; empty means none.
	Scope string
}

// Principal is who a key authenticated.
type Principal struct {
	Owner  string
	Secret Secret // the key's metadata, with its status at authentication
}

// Authenticate checks a presented key and returns whose it is.
//
// The checks run cheapest first, and each failure is an [*AuthError] whose
// reason a handler can map to a response: an empty key is ErrMissingKey; a
// key of the wrong shape or with a bad checksum is ErrInvalidKey, decided
// offline without reaching the store; an unknown key is ErrInvalidKey; then
// ErrRevoked, ErrExpired (both also match ErrInvalidKey),
// ErrNetworkNotAllowed and ErrScopeNotGranted. Other errors come from the
// store.
//
// A success records the use (time and req.IP). Uses are written in
// batches, at most once per Options.UseInterval; [Rotator.List] shows them
// at once, and [Rotator.Flush] writes them out.
func (r *Rotator) Authenticate(ctx context.Context, key string, req Request) (Principal, error) {
	if key == "" {
		return Principal{}, &AuthError{Err: ErrMissingKey}
	}
	if _, err := secrets.ParseKey(key); err != nil {
		return Principal{}, &AuthError{Err: ErrInvalidKey, cause: err}
	}
	d := r.set.digester.Digest(key)
	owner, rec, err := r.st.Lookup(ctx, d)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, &AuthError{Err: ErrInvalidKey}
	}
	if err != nil {
		return Principal{}, err
	}
	// The index matched on the digest; compare again in constant time so
	// no backend's lookup is the only check.
	if !rec.Digest.Equal(d) {
		return Principal{}, &AuthError{Err: ErrInvalidKey}
	}
	now := r.set.now()
	fail := func(reason error) (Principal, error) {
		return Principal{}, &AuthError{Err: reason, Owner: owner, SecretID: rec.ID, IP: req.IP, Scope: req.Scope}
	}
	switch rec.StatusAt(now) {
	case StatusRevoked:
		return fail(ErrRevoked)
	case StatusExpired:
		return fail(ErrExpired)
	}
	if !allowed(rec.Networks, req.IP) {
		return fail(ErrNetworkNotAllowed)
	}
	if req.Scope != "" && !rec.HasScope(req.Scope) {
		return fail(ErrScopeNotGranted)
	}
	use := store.Use{Owner: owner, SecretID: rec.ID, At: now, IP: req.IP}
	if batch := r.uses.note(use, now); batch != nil {
		_ = r.write(ctx, batch) // logged and retried by write; the request stands
	}
	rec.LastUsedAt, rec.LastUsedIP = now, req.IP
	return Principal{Owner: owner, Secret: secretOf(owner, &rec, now)}, nil
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
