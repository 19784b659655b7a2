package rotation_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// BenchmarkAuthenticate authenticates keys spread over 10,000 owners:
// parse and checksum, digest, lookup, checks, and noting the use. The
// stores are memstore and sqlstore on SQLite, both with every owner in
// the Rotator's cache (warmed up); and sqlstore on SQLite with a cache of
// one owner (evicted-sqlite), so that every call looks the key up and
// reads its owner: two indexed queries.
func BenchmarkAuthenticate(b *testing.B) {
	for _, bs := range []struct {
		name      string
		store     func(b *testing.B) store.Store
		maxOwners int
	}{
		{"memstore", func(*testing.B) store.Store { return memstore.New() }, 0},
		{"sqlite", func(b *testing.B) store.Store { return sqlstoretest.SQLite(b).Open(b) }, 0},
		{"evicted-sqlite", func(b *testing.B) store.Store { return sqlstoretest.SQLite(b).Open(b) }, 1},
	} {
		b.Run(bs.name, func(b *testing.B) {
			ctx := b.Context()
			clock := rotationtest.NewClock(t0)
			r, err := rotation.New(bs.store(b), &rotation.Options{Now: clock.Now,
				Cache: rotation.CacheOptions{MaxAge: time.Hour, MaxOwners: bs.maxOwners}})
			if err != nil {
				b.Fatal(err)
			}
			const owners = 10_000
			keys := make([]string, owners)
			for i := range keys {
				iss, err := r.Create(ctx, fmt.Sprintf("owner_%d", i), rotation.Spec{Scopes: []string{"read"}})
				if err != nil {
					b.Fatal(err)
				}
				keys[i] = iss.Value.Reveal()
			}
			req := rotation.Request{IP: netip.MustParseAddr("192.0.2.1"), Scope: "read"}
			for _, k := range keys { // warm the cache, where there is one
				if _, err := r.Authenticate(ctx, k, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := r.Authenticate(ctx, keys[i%owners], req); err != nil {
					b.Fatal(err)
				}
				i += 7919 // a prime stride, so successive calls touch different owners
			}
		})
	}
}

// BenchmarkRegenerate regenerates an owner's secrets with a grace window,
// over and over: load, the policy's checks, a new value sealed and
// digested, a cut of the window that ends soonest, and the
// compare-and-swap save. The owner holds three active secrets and three
// values in grace, as a busy one would.
func BenchmarkRegenerate(b *testing.B) {
	for _, bs := range []struct {
		name  string
		store func(b *testing.B) store.Store
	}{
		{"memstore", func(*testing.B) store.Store { return memstore.New() }},
		{"sqlite", func(b *testing.B) store.Store { return sqlstoretest.SQLite(b).Open(b) }},
		{"postgres", func(b *testing.B) store.Store { return sqlstoretest.Postgres(b).Open(b) }},
	} {
		b.Run(bs.name, func(b *testing.B) {
			ctx := b.Context()
			clock := rotationtest.NewClock(t0)
			r, err := rotation.New(bs.store(b), &rotation.Options{Now: clock.Now, Keyring: secretstest.Keyring(b)})
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]string, 3)
			for i := range ids {
				iss, err := r.Create(ctx, "acme", rotation.Spec{HMAC: true})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = iss.ID
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := r.Regenerate(ctx, "acme", ids[i%3], time.Minute); err != nil {
					b.Fatal(err)
				}
				i++
				clock.Advance(time.Second)
			}
		})
	}
}

// BenchmarkVerifyRotator verifies a 1 KiB webhook against an owner's keys
// taken from the Rotator's snapshot, the path hmacsign's middleware takes
// when the Rotator is its key source.
func BenchmarkVerifyRotator(b *testing.B) {
	ctx := b.Context()
	clock := rotationtest.NewClock(t0)
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now, Keyring: secretstest.Keyring(b)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Create(ctx, "acme", rotation.Spec{Format: secrets.Webhook}); err != nil {
		b.Fatal(err)
	}
	msg, err := hmacsign.NewSigner(r, &hmacsign.SignerOptions{Now: clock.Now}).Sign(ctx, "acme", "msg_1", make([]byte, 1024))
	if err != nil {
		b.Fatal(err)
	}
	v, err := hmacsign.NewVerifier(r, &hmacsign.VerifierOptions{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, "acme", msg); err != nil {
			b.Fatal(err)
		}
	}
}
