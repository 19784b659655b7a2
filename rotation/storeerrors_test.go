package rotation_test

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

// brokenStore fails lookups or use records while told to.
type brokenStore struct {
	store.Store
	lookups atomic.Bool // Lookup fails
	uses    atomic.Bool // RecordUses fails
}

func (s *brokenStore) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	if s.lookups.Load() {
		return store.Match{}, &store.OpError{Op: "lookup", Err: errNetwork}
	}
	return s.Store.Lookup(ctx, d)
}

func (s *brokenStore) RecordUses(ctx context.Context, uses []store.Use) error {
	if s.uses.Load() {
		return &store.OpError{Op: "record uses", Err: errNetwork}
	}
	return s.Store.RecordUses(ctx, uses)
}

// A store that cannot answer is not an invalid key: the caller can tell
// an outage (a 503) from a bad key (a 401). Keys whose owners are cached
// go on working meanwhile.
func TestAuthenticateStoreDown(t *testing.T) {
	is := is.New(t)
	broken := &brokenStore{Store: memstore.New()}
	f := newFixtureOver(t, broken, nil)
	s := f.create(t, "acme", rotation.Spec{})
	// Another process, which has cached nothing, must look the key up.
	other, err := rotation.New(broken, &rotation.Options{Now: f.clock.Now})
	is.NoErr(err)
	broken.lookups.Store(true)
	_, err = other.Authenticate(t.Context(), s.Value.Reveal(), rotation.Request{})
	is.True(errors.Is(err, errNetwork))              // the store's error comes through
	is.True(!errors.Is(err, rotation.ErrInvalidKey)) // and is not taken for a bad key
	var aerr *rotation.AuthError
	is.True(!errors.As(err, &aerr)) // nor for a refusal

	is.NoErr(f.auth(t, s.Value)) // where the owner is cached, the key works without the store
}

// A use that cannot be written does not fail the request; it is kept and
// written with the next batch.
func TestUsesSurviveAFailedWrite(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	broken := &brokenStore{Store: memstore.New()}
	f := newFixtureOver(t, broken, nil)
	s := f.create(t, "acme", rotation.Spec{})
	broken.uses.Store(true)
	ip := netip.MustParseAddr("192.0.2.1")
	_, err := f.r.Authenticate(ctx, s.Value.Reveal(), rotation.Request{IP: ip})
	is.NoErr(err)                                   // the request stands although its use was not written
	is.Equal(f.get(t, "acme", s.ID).LastUsedIP, ip) // the use shows all the same
	is.True(errors.Is(f.r.Flush(ctx), errNetwork))  // Flush says it could not write

	broken.uses.Store(false)
	is.NoErr(f.r.Flush(ctx)) // once the store is back, the kept use is written
	rec := f.keyset(t, "acme").Keys[0]
	is.Equal(rec.LastUsedIP, ip)         // to the secret
	is.Equal(rec.Current.LastUsedIP, ip) // and to its value
	is.Equal(rec.LastUsedAt, t0)
}

// A done context stops a change, and its error comes through as itself.
func TestContextPassesThrough(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	version := f.version(t, "acme")
	_, err := f.r.Regenerate(ctx, "acme", s.ID, time.Minute)
	is.True(errors.Is(err, context.Canceled)) // the context's error
	_, err = f.r.Create(ctx, "acme", rotation.Spec{})
	is.True(errors.Is(err, context.Canceled))
	is.Equal(f.version(t, "acme"), version) // and nothing saved
	is.NoErr(f.auth(t, s.Value))            // the value stands
}
