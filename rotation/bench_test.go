package rotation_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store/memstore"
)

// BenchmarkAuthenticate authenticates keys spread over 10,000 owners in the
// in-memory store: parse and checksum, digest, lookup, checks, and noting
// the use.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := b.Context()
	clock := rotationtest.NewClock(t0)
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now})
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
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := r.Authenticate(ctx, keys[i%owners], req); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifyRotator verifies a 1 KiB webhook against an owner's keys
// taken from the Rotator's snapshot, the path hmacsign's middleware takes
// when the Rotator is its key source.
func BenchmarkVerifyRotator(b *testing.B) {
	ctx := b.Context()
	clock := rotationtest.NewClock(t0)
	kek, err := secrets.GenerateKEK("kek-1")
	if err != nil {
		b.Fatal(err)
	}
	ring, err := secrets.NewKeyring(kek)
	if err != nil {
		b.Fatal(err)
	}
	r, err := rotation.New(memstore.New(), &rotation.Options{Now: clock.Now, Keyring: ring})
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
	v := hmacsign.NewVerifier(r, &hmacsign.VerifierOptions{Now: clock.Now})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, "acme", msg); err != nil {
			b.Fatal(err)
		}
	}
}
