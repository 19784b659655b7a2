package rotation_test

import (
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

func TestDeleteOwner(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	signer := f.create(t, "acme", rotation.Spec{Format: secrets.Webhook}) // designated
	plain := f.create(t, "acme", rotation.Spec{})
	res := f.regenerate(t, "acme", plain.ID, time.Hour) // a previous value in grace
	kept := f.create(t, "other", rotation.Spec{})
	values := []secrets.Value{signer.Value, plain.Value, res.Value}
	stale := f.keyset(t, "acme") // what a writer read before
	f.seen()

	at := f.clock.Advance(time.Second)
	is.NoErr(f.r.DeleteOwner(ctx, "acme")) // the designated secret does not stop it
	for _, v := range values {
		err := f.auth(t, v)
		is.True(errors.Is(err, rotation.ErrInvalidKey)) // every value, current and previous, is unknown at once
		is.True(!errors.Is(err, rotation.ErrRevoked))   // not merely revoked
	}
	is.Equal(len(f.list(t, "acme")), 0) // the list is empty
	_, err := f.r.Get(ctx, "acme", signer.ID)
	is.True(errors.Is(err, rotation.ErrNotFound)) // and each secret gone
	keys, err := f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(len(keys), 0) // with its keys
	if d := diff([]rotation.Event{{Kind: rotation.EventOwnerDeleted, Owner: "acme", At: at, Count: 2}}, f.seen()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	ks := f.keyset(t, "acme")
	is.Equal(ks.Version, stale.Version+1) // the version keeps counting
	is.Equal(len(ks.Keys), 0)
	is.Equal(ks.Signing, "")

	err = f.store.Save(ctx, stale)
	is.True(errors.Is(err, store.ErrConflict)) // a stale writer cannot bring the keys back
	for _, v := range values {
		is.True(errors.Is(f.auth(t, v), rotation.ErrInvalidKey)) // they stay unknown
	}
	is.NoErr(f.auth(t, kept.Value)) // other owners are untouched

	saves := f.store.saves.Load()
	is.NoErr(f.r.DeleteOwner(ctx, "acme")) // deleting an owner with no secrets is fine
	is.NoErr(f.r.DeleteOwner(ctx, "nobody"))
	is.Equal(f.store.saves.Load(), saves) // and saves nothing
	is.Equal(len(f.seen()), 0)            // nor reports

	again := f.create(t, "acme", rotation.Spec{HMAC: true})
	is.True(again.Signing)                                              // the owner starts afresh
	is.Equal(f.version(t, "acme"), stale.Version+2)                     // on the same count of versions
	is.True(errors.Is(f.auth(t, signer.Value), rotation.ErrInvalidKey)) // with none of its old values
}

func TestDeleteOwnerValidates(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	err := f.r.DeleteOwner(t.Context(), "")
	var verr *rotation.ValidationError
	is.True(errors.As(err, &verr)) // an empty owner is refused
	is.Equal(verr.Field, "owner")  // by name
}
