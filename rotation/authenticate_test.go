package rotation_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
)

// Garbage is refused offline: shape and checksum are checked before the
// store is asked.
func TestAuthenticateOffline(t *testing.T) {
	f := newFixture(t, nil)
	good := f.create(t, "acme", rotation.Spec{}).Value.Reveal()
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	webhook, err := secrets.GenerateWebhookSecret(32)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string
		want error
	}{
		{"empty", "", rotation.ErrMissingKey},
		{"bad checksum", flip(good, len(good)-1), rotation.ErrInvalidKey},
		{"typo in the body", flip(good, len(good)-20), rotation.ErrInvalidKey},
		{"truncated", good[:len(good)-1], rotation.ErrInvalidKey},
		{"extended", good + "a", rotation.ErrInvalidKey},
		{"random text", "correct horse battery staple", rotation.ErrInvalidKey},
		{"a webhook secret", webhook.Reveal(), rotation.ErrInvalidKey},
		{"bearer prefix left on", "Bearer " + good, rotation.ErrInvalidKey},
		{"NUL", good[:10] + "\x00" + good[11:], rotation.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			before := f.store.lookups.Load()
			_, err := f.r.Authenticate(t.Context(), tt.key, rotation.Request{})
			is.True(errors.Is(err, tt.want)) // refused for the right reason
			var aerr *rotation.AuthError
			is.True(errors.As(err, &aerr))                // typed
			is.Equal(aerr.SecretID, "")                   // naming no secret
			is.Equal(f.store.lookups.Load(), before)      // without reaching the store
			is.True(!strings.Contains(err.Error(), good)) // and without echoing a key
			if tt.key != "" {
				is.True(!strings.Contains(err.Error(), tt.key)) // not even the presented one
			}
		})
	}
}

func TestAuthenticateChecks(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.10")
	v6 := netip.MustParseAddr("2001:db8::7")
	spec := rotation.Spec{
		Scopes:    []string{"payments:read"},
		Networks:  []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")},
		ExpiresAt: t0.Add(time.Hour),
	}
	unknown, err := rotation.DefaultFormat.Generate()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture, k *rotation.Issued) string // returns the key to present
		req   rotation.Request
		want  error
	}{
		{"valid from IPv4 with scope", nil, rotation.Request{IP: v4, Scope: "payments:read"}, nil},
		{"valid from IPv6", nil, rotation.Request{IP: v6}, nil},
		{"valid from IPv4-mapped IPv6", nil, rotation.Request{IP: netip.AddrFrom16(v4.As16())}, nil},
		{"valid until the last instant", func(t *testing.T, f *fixture, k *rotation.Issued) string {
			f.clock.Set(t0.Add(time.Hour - time.Nanosecond))
			return k.Value.Reveal()
		}, rotation.Request{IP: v4}, nil},
		{"unknown key", func(*testing.T, *fixture, *rotation.Issued) string { return unknown.Reveal() }, rotation.Request{IP: v4}, rotation.ErrInvalidKey},
		{"wrong IPv4 network", nil, rotation.Request{IP: netip.MustParseAddr("198.51.100.1")}, rotation.ErrNetworkNotAllowed},
		{"wrong IPv6 network", nil, rotation.Request{IP: netip.MustParseAddr("2001:db9::1")}, rotation.ErrNetworkNotAllowed},
		{"no client address", nil, rotation.Request{}, rotation.ErrNetworkNotAllowed},
		{"scope not granted", nil, rotation.Request{IP: v4, Scope: "payments:write"}, rotation.ErrScopeNotGranted},
		{"expired", func(t *testing.T, f *fixture, k *rotation.Issued) string {
			f.clock.Set(t0.Add(time.Hour))
			return k.Value.Reveal()
		}, rotation.Request{IP: v4}, rotation.ErrExpired},
		{"revoked", func(t *testing.T, f *fixture, k *rotation.Issued) string {
			if err := f.r.Revoke(t.Context(), "acme", k.ID); err != nil {
				t.Fatal(err)
			}
			return k.Value.Reveal()
		}, rotation.Request{IP: v4}, rotation.ErrRevoked},
		{"previous value outside its network", func(t *testing.T, f *fixture, k *rotation.Issued) string {
			f.regenerate(t, "acme", k.ID, time.Minute)
			return k.Value.Reveal()
		}, rotation.Request{IP: netip.MustParseAddr("198.51.100.1")}, rotation.ErrNetworkNotAllowed},
		{"previous value of a revoked secret", func(t *testing.T, f *fixture, k *rotation.Issued) string {
			f.regenerate(t, "acme", k.ID, time.Minute)
			if err := f.r.Revoke(t.Context(), "acme", k.ID); err != nil {
				t.Fatal(err)
			}
			return k.Value.Reveal()
		}, rotation.Request{IP: v4}, rotation.ErrInvalidKey},
	}
	reasons := []error{rotation.ErrMissingKey, rotation.ErrExpired, rotation.ErrRevoked, rotation.ErrNetworkNotAllowed, rotation.ErrScopeNotGranted}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			k := f.create(t, "acme", spec)
			key := k.Value.Reveal()
			if tt.setup != nil {
				key = tt.setup(t, f, k)
			}
			p, err := f.r.Authenticate(t.Context(), key, tt.req)
			if tt.want == nil {
				is.NoErr(err)                            // a valid key from an allowed network passes
				is.Equal(p.Owner, "acme")                // and says whose it is
				is.Equal(p.Secret.ID, k.ID)              // and which secret
				is.Equal(p.Presented.ID, k.Current.ID)   // and which value
				is.True(!p.Previous)                     // the current one
				is.Equal(p.Secret.LastUsedIP, tt.req.IP) // with this use
				is.Equal(p.Secret.Scopes, spec.Scopes)   // and the secret's attributes
				return
			}
			is.True(errors.Is(err, tt.want)) // each failure has its own reason
			for _, other := range reasons {
				if other != tt.want && !(tt.want == rotation.ErrInvalidKey && other == rotation.ErrRevoked) {
					is.True(!errors.Is(err, other)) // and only that one
				}
			}
			if errors.Is(err, rotation.ErrExpired) || errors.Is(err, rotation.ErrRevoked) {
				is.True(errors.Is(err, rotation.ErrInvalidKey)) // expired and revoked keys are invalid keys
			}
			var aerr *rotation.AuthError
			is.True(errors.As(err, &aerr)) // as a typed error
			switch tt.want {
			case rotation.ErrNetworkNotAllowed:
				is.Equal(aerr.IP, tt.req.IP)  // that carries the client address
				is.Equal(aerr.SecretID, k.ID) // and the secret, by its id
			case rotation.ErrScopeNotGranted:
				is.Equal(aerr.Scope, tt.req.Scope) // or the scope
			}
			is.True(!strings.Contains(err.Error(), key)) // never the key
		})
	}
}

// A previous value inside its window authenticates as its secret, and
// says that it is a previous value and until when it works.
func TestAuthenticatePreviousValue(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{Name: "ci", Scopes: []string{"read"}})
	at := f.clock.Advance(time.Second)
	res := f.regenerate(t, "acme", s.ID, time.Minute)

	ip := netip.MustParseAddr("192.0.2.9")
	p, err := f.r.Authenticate(ctx, s.Value.Reveal(), rotation.Request{IP: ip, Scope: "read"})
	is.NoErr(err)                                        // the previous value works in its window
	is.Equal(p.Owner, "acme")                            // for the owner
	is.Equal(p.Secret.ID, s.ID)                          // as the same secret
	is.True(p.Previous)                                  // flagged as previous
	is.Equal(p.Presented.ID, s.Current.ID)               // naming the value
	is.Equal(p.Presented.Hint, s.Value.Hint())           // with its hint
	is.Equal(p.Presented.ExpiresAt, at.Add(time.Minute)) // and when it stops
	is.Equal(p.Presented.LastUsedIP, ip)                 // with this use
	is.Equal(p.Secret.Current.ID, res.Current.ID)        // the secret shows its current value

	p, err = f.r.Authenticate(ctx, res.Value.Reveal(), rotation.Request{})
	is.NoErr(err)                            // the current value works
	is.True(!p.Previous)                     // and is not previous
	is.True(p.Presented.ExpiresAt.IsZero())  // nor ends by itself
	is.Equal(p.Presented.ID, res.Current.ID) // it is the current one
}

func TestAuthenticatePepper(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Pepper = secrets.NewValue("server-side pepper, 32 bytes ..") })
	s := f.create(t, "acme", rotation.Spec{})
	is.NoErr(f.auth(t, s.Value)) // keys authenticate under a pepper
	res := f.regenerate(t, "acme", s.ID, time.Minute)
	is.NoErr(f.auth(t, res.Value)) // so do regenerated ones
	is.NoErr(f.auth(t, s.Value))   // and previous ones

	unpeppered := secrets.NewDigester(secrets.Value{}).DigestValue(res.Value)
	is.True(!f.keyset(t, "acme").Keys[0].Current.Digest.Equal(unpeppered)) // the stored digest is keyed

	other, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now})
	is.NoErr(err)
	_, err = other.Authenticate(t.Context(), res.Value.Reveal(), rotation.Request{})
	is.True(errors.Is(err, rotation.ErrInvalidKey)) // and without the pepper the stored digests match nothing
}

// What List shows as a secret's last use does not change when the
// pending uses are written: two uses in the same instant show the same
// one before and after a Flush.
func TestLastUsedStableAcrossFlush(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{})
	for _, addr := range []string{"192.0.2.1", "192.0.2.2"} {
		_, err := f.r.Authenticate(ctx, s.Value.Reveal(), rotation.Request{IP: netip.MustParseAddr(addr)})
		is.NoErr(err) // two uses in one instant: the first is written, the second pending
	}
	before := f.get(t, "acme", s.ID)
	is.NoErr(f.r.Flush(ctx))
	after := f.get(t, "acme", s.ID)
	is.Equal(after.LastUsedAt, before.LastUsedAt)                 // the same last use
	is.Equal(after.LastUsedIP, before.LastUsedIP)                 // from the same address, before and after the write
	is.Equal(after.Current.LastUsedIP, before.Current.LastUsedIP) // for the value too
}
