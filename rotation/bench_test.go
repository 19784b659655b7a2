package rotation_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
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
