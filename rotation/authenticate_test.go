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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			before := f.store.lookups.Load()
			_, err := f.r.Authenticate(t.Context(), tt.key, rotation.Request{})
			is.True(errors.Is(err, tt.want))              // refused for the right reason
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
		Scopes:   []string{"payments:read"},
		Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")},
	}
	unknown, err := rotation.DefaultFormat.Generate()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture, key *rotation.Issued) string // returns the key to present
		req   rotation.Request
		want  error
	}{
		{"valid from IPv4", nil, rotation.Request{IP: v4, Scope: "payments:read"}, nil},
		{"valid from IPv6", nil, rotation.Request{IP: v6}, nil},
		{"valid from IPv4-mapped IPv6", nil, rotation.Request{IP: netip.AddrFrom16(v4.As16())}, nil},
		{"unknown key", func(*testing.T, *fixture, *rotation.Issued) string { return unknown.Reveal() }, rotation.Request{IP: v4}, rotation.ErrInvalidKey},
		{"wrong IPv4 network", nil, rotation.Request{IP: netip.MustParseAddr("198.51.100.1")}, rotation.ErrNetworkNotAllowed},
		{"wrong IPv6 network", nil, rotation.Request{IP: netip.MustParseAddr("2001:db9::1")}, rotation.ErrNetworkNotAllowed},
		{"no client address", nil, rotation.Request{}, rotation.ErrNetworkNotAllowed},
		{"scope not granted", nil, rotation.Request{IP: v4, Scope: "payments:write"}, rotation.ErrScopeNotGranted},
		{"expired", func(t *testing.T, f *fixture, k *rotation.Issued) string {
			f.clock.Advance(time.Hour)
			return k.Value.Reveal()
		}, rotation.Request{IP: v4}, rotation.ErrExpired},
		{"revoked", func(t *testing.T, f *fixture, k *rotation.Issued) string {
			if err := f.r.Revoke(t.Context(), "acme", k.ID); err != nil {
				t.Fatal(err)
			}
			return k.Value.Reveal()
		}, rotation.Request{IP: v4}, rotation.ErrRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			f.create(t, "acme", rotation.Spec{}) // the designated one, so the next can be revoked
			s := spec
			s.ExpiresAt = t0.Add(time.Hour)
			k := f.create(t, "acme", s)
			key := k.Value.Reveal()
			if tt.setup != nil {
				key = tt.setup(t, f, k)
			}
			p, err := f.r.Authenticate(t.Context(), key, tt.req)
			if tt.want == nil {
				is.NoErr(err)               // a valid key from an allowed network passes
				is.Equal(p.Owner, "acme")   // and says whose it is
				is.Equal(p.Secret.ID, k.ID) // and which secret
				is.Equal(p.Secret.LastUsedIP, tt.req.IP)
				return
			}
			is.True(errors.Is(err, tt.want)) // each failure has its own reason
			for _, other := range []error{rotation.ErrMissingKey, rotation.ErrExpired, rotation.ErrRevoked, rotation.ErrNetworkNotAllowed, rotation.ErrScopeNotGranted} {
				if other != tt.want {
					is.True(!errors.Is(err, other)) // and only that one
				}
			}
			var aerr *rotation.AuthError
			is.True(errors.As(err, &aerr)) // as a typed error
			switch tt.want {
			case rotation.ErrNetworkNotAllowed:
				is.Equal(aerr.IP, tt.req.IP) // that carries the client address
			case rotation.ErrScopeNotGranted:
				is.Equal(aerr.Scope, tt.req.Scope) // or the scope
			}
			is.True(!strings.Contains(err.Error(), key)) // never the key
		})
	}
}

func TestAuthenticatePepper(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Pepper = secrets.NewValue("server-side pepper, 32 bytes ..") })
	s := f.create(t, "acme", rotation.Spec{})
	is.NoErr(f.auth(t, s.Value)) // keys authenticate under a pepper

	other, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now})
	is.NoErr(err)
	_, err = other.Authenticate(t.Context(), s.Value.Reveal(), rotation.Request{})
	is.True(errors.Is(err, rotation.ErrInvalidKey)) // and without it the stored digests match nothing
}

func TestLastUsedCoalescing(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	a := f.create(t, "acme", rotation.Spec{})
	b := f.create(t, "acme", rotation.Spec{})
	ip := func(n byte) rotation.Request { return rotation.Request{IP: netip.AddrFrom4([4]byte{192, 0, 2, n})} }

	for i := range 100 {
		_, err := f.r.Authenticate(ctx, a.Value.Reveal(), ip(byte(i)))
		is.NoErr(err)
	}
	is.Equal(f.store.uses.Load(), int64(1)) // 100 uses in one instant cost one write

	got, err := f.r.Get(ctx, "acme", a.ID)
	is.NoErr(err)
	is.Equal(got.LastUsedAt, t0)        // yet the latest use shows at once
	is.Equal(got.LastUsedIP, ip(99).IP) // with its address

	f.clock.Advance(30 * time.Second)
	for range 50 {
		_, err := f.r.Authenticate(ctx, a.Value.Reveal(), ip(7))
		is.NoErr(err)
		_, err = f.r.Authenticate(ctx, b.Value.Reveal(), ip(8))
		is.NoErr(err)
	}
	is.Equal(f.store.uses.Load(), int64(1)) // nothing more is written within the interval

	f.clock.Advance(30 * time.Second)
	_, err = f.r.Authenticate(ctx, b.Value.Reveal(), ip(9))
	is.NoErr(err)
	is.Equal(f.store.uses.Load(), int64(2)) // the first use after the interval writes
	is.Equal(f.store.used.Load(), int64(3)) // one batch with the latest use of each key

	ks, err := f.store.Load(ctx, "acme")
	is.NoErr(err)
	for _, rec := range ks.Secrets {
		switch rec.ID {
		case a.ID:
			is.Equal(rec.LastUsedAt, t0.Add(30*time.Second)) // the store has a's latest use
			is.Equal(rec.LastUsedIP, ip(7).IP)
		case b.ID:
			is.Equal(rec.LastUsedAt, t0.Add(time.Minute)) // and b's
			is.Equal(rec.LastUsedIP, ip(9).IP)
		}
	}
	is.Equal(ks.Version, f.version(t, "acme")) // uses never bump the version

	f.clock.Advance(time.Second)
	_, err = f.r.Authenticate(ctx, a.Value.Reveal(), ip(1))
	is.NoErr(err)
	is.NoErr(f.r.Flush(ctx))
	is.Equal(f.store.uses.Load(), int64(3)) // Flush writes what is pending
	is.NoErr(f.r.Flush(ctx))
	is.Equal(f.store.uses.Load(), int64(3)) // and nothing when nothing is
}
