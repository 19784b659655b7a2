package rotation_test

import (
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
)

func TestRevoke(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{})
	res := f.regenerate(t, "acme", s.ID, time.Hour)
	f.seen()
	at := f.clock.Advance(time.Second)

	is.NoErr(f.r.Revoke(ctx, "acme", s.ID))
	is.True(errors.Is(f.auth(t, res.Value), rotation.ErrRevoked))  // the current value is refused at once
	is.True(errors.Is(f.auth(t, s.Value), rotation.ErrInvalidKey)) // and so is the one in grace: a leaked old value can be ended early
	got := f.get(t, "acme", s.ID)
	is.Equal(got.Status, rotation.StatusRevoked) // it is listed as revoked
	is.Equal(got.RevokedAt, at)                  // since now
	is.Equal(len(got.Previous), 0)               // with no window open
	if d := diff([]rotation.Event{{Kind: rotation.EventRevoked, Owner: "acme", SecretID: s.ID, Hint: res.Current.Hint, At: at}}, f.seen()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}

	saves := f.store.saves.Load()
	is.NoErr(f.r.Revoke(ctx, "acme", s.ID)) // revoking again is harmless
	is.Equal(f.store.saves.Load(), saves)   // and saves nothing
	is.Equal(len(f.seen()), 0)              // nor reports anything

	err := f.r.Revoke(ctx, "acme", noSuchID)
	var serr *rotation.SecretError
	is.True(errors.As(err, &serr))                // an unknown secret is typed
	is.True(errors.Is(err, rotation.ErrNotFound)) // as not found
	is.Equal(serr.Op, "revoke")
}

func TestDelete(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{})
	keep := f.create(t, "acme", rotation.Spec{})
	res := f.regenerate(t, "acme", s.ID, time.Hour)
	f.seen()

	is.NoErr(f.r.Delete(ctx, "acme", s.ID))
	for _, v := range []*rotation.Issued{s, &res.Issued} {
		is.True(errors.Is(f.auth(t, v.Value), rotation.ErrInvalidKey)) // every value, current and previous, is unknown at once
	}
	is.Equal(secretIDs(f.list(t, "acme")), []string{keep.ID}) // the others stay
	is.NoErr(f.auth(t, keep.Value))
	if d := diff([]rotation.Event{{Kind: rotation.EventDeleted, Owner: "acme", SecretID: s.ID, Hint: res.Current.Hint, At: t0}}, f.seen()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	err := f.r.Delete(ctx, "acme", s.ID)
	var serr *rotation.SecretError
	is.True(errors.As(err, &serr))                // deleting twice is typed
	is.True(errors.Is(err, rotation.ErrNotFound)) // as not found
	is.Equal(serr.Op, "delete")
	is.Equal(serr.ID, s.ID)
}

// An id that is not an id, such as a key pasted in its place, is never
// repeated in an error.
func TestErrorsDoNotRepeatPastedKeys(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	key := f.create(t, "acme", rotation.Spec{}).Value.Reveal()
	_, errGet := f.r.Get(ctx, "acme", key)
	_, errRegen := f.r.Regenerate(ctx, "acme", key, 0)
	_, errUpdate := f.r.Update(ctx, "acme", key, func(*rotation.Attributes) {})
	for _, err := range []error{errGet, errRegen, errUpdate, f.r.Delete(ctx, "acme", key), f.r.Revoke(ctx, "acme", key), f.r.SetSigning(ctx, "acme", key)} {
		var serr *rotation.SecretError
		is.True(errors.As(err, &serr))                // a typed refusal
		is.True(errors.Is(err, rotation.ErrNotFound)) // as not found
		is.Equal(serr.ID, "(not a secret id)")        // naming no key
	}
}
