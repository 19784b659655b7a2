package rotation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
)

// ids returns the ids of keys, in order.
func ids(keys []hmacsign.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.ID()
	}
	return out
}

// ends returns when each of keys stops working, in order.
func ends(keys []hmacsign.Key) []time.Time {
	out := make([]time.Time, len(keys))
	for i, k := range keys {
		out[i] = k.ExpiresAt()
	}
	return out
}

// signWith signs msg_1 for owner with the given values alone, as a
// receiver holding them would check: the signature header it gives.
func signWith(t *testing.T, f *fixture, id string, values ...secrets.Value) hmacsign.Message {
	t.Helper()
	var keys hmacsign.StaticKeys
	for _, v := range values {
		k, err := hmacsign.NewKey(id, v, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	m, err := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Now: f.clock.Now}).Sign(t.Context(), "acme", "msg_1", []byte(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// SigningKeys: the designated secret's current value first, then its
// previous values still in grace, newest first. VerifyingKeys: every
// valid value of every secret that can sign.
func TestSigningKeysDuringGrace(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	a := f.create(t, "acme", rotation.Spec{Format: secrets.Webhook})
	plain := f.create(t, "acme", rotation.Spec{}) // no HMAC: never a key
	b := f.create(t, "acme", rotation.Spec{HMAC: true})

	keys, err := f.r.SigningKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(keys), []string{a.ID}) // the designated secret signs, alone
	keys, err = f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(keys), []string{a.ID, b.ID}) // every HMAC secret verifies, no plain key

	t1 := f.clock.Advance(time.Second)
	a1 := f.regenerate(t, "acme", a.ID, time.Minute)
	t2 := f.clock.Advance(time.Second)
	a2 := f.regenerate(t, "acme", a.ID, 2*time.Minute)
	f.regenerate(t, "acme", plain.ID, time.Minute) // counts in grace, has no keys

	keys, err = f.r.SigningKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(keys), []string{a.ID, a.ID, a.ID}) // every key is the secret's, by its id
	if d := diff([]time.Time{{}, t2.Add(2 * time.Minute), t1.Add(time.Minute)}, ends(keys)); d != "" {
		t.Errorf("the current value, then the previous ones newest first, each until its window ends (-want +got):\n%s", d)
	}
	signed, err := hmacsign.NewSigner(f.r, &hmacsign.SignerOptions{Now: f.clock.Now}).Sign(ctx, "acme", "msg_1", []byte(`{"n":1}`))
	is.NoErr(err)
	want := []string{
		signWith(t, f, a.ID, a2.Value).Signature,
		signWith(t, f, a.ID, a1.Value).Signature,
		signWith(t, f, a.ID, a.Value).Signature,
	}
	is.Equal(signed.Signature, strings.Join(want, " ")) // signatures by the current value, then the previous newest first

	keys, err = f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(keys), []string{a.ID, a.ID, a.ID, b.ID}) // every valid value verifies
	v, err := hmacsign.NewVerifier(f.r, &hmacsign.VerifierOptions{Now: f.clock.Now})
	is.NoErr(err)
	for _, value := range []secrets.Value{a.Value, a1.Value, a2.Value, b.Value} {
		id := a.ID
		if value.Equal(b.Value) {
			id = b.ID
		}
		got, err := v.Verify(ctx, "acme", signWith(t, f, id, value))
		is.NoErr(err)     // a signature by any valid value verifies
		is.Equal(got, id) // as its secret
	}

	f.clock.Set(t1.Add(time.Minute)) // a's first window is over, the second is not
	keys, err = f.r.SigningKeys(ctx, "acme")
	is.NoErr(err)
	if d := diff([]time.Time{{}, t2.Add(2 * time.Minute)}, ends(keys)); d != "" {
		t.Errorf("an ended window signs no more (-want +got):\n%s", d)
	}
	_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, a.Value))
	is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // nor verifies
	_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, a1.Value))
	is.NoErr(err) // while the open one does
}

func TestKeysSeeOwnChangesAtOnce(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxAge = time.Hour })
	a := f.create(t, "acme", rotation.Spec{HMAC: true}) // the designated one
	b := f.create(t, "acme", rotation.Spec{HMAC: true})
	v, err := hmacsign.NewVerifier(f.r, &hmacsign.VerifierOptions{Now: f.clock.Now})
	is.NoErr(err)
	byB := signWith(t, f, b.ID, b.Value)
	got, err := v.Verify(ctx, "acme", byB)
	is.NoErr(err)       // any valid secret of the owner verifies, not only the designated one
	is.Equal(got, b.ID) // and the verifier says which

	is.NoErr(f.r.Revoke(ctx, "acme", b.ID))
	_, err = v.Verify(ctx, "acme", byB)
	is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // a revoked secret stops verifying at once

	res := f.regenerate(t, "acme", a.ID, 0)
	_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, a.Value))
	is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // a value regenerated without grace stops at once
	_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, res.Value))
	is.NoErr(err) // and the new one verifies at once

	is.NoErr(f.r.DeleteOwner(ctx, "acme"))
	_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, res.Value))
	is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // a deleted owner verifies nothing at once

	_, err = v.Verify(ctx, "nobody", byB)
	is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // an owner with no keys fails closed
}

func TestKeysSeeOtherProcessesWithinMaxAge(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxAge = 10 * time.Second })
	a := f.create(t, "acme", rotation.Spec{HMAC: true})
	v, err := hmacsign.NewVerifier(f.r, &hmacsign.VerifierOptions{Now: f.clock.Now})
	is.NoErr(err)
	_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, a.Value))
	is.NoErr(err) // the keys are built and cached

	// Another Rotator over the same store stands for another process.
	other, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now, Keyring: f.ring})
	is.NoErr(err)
	res, err := other.Regenerate(ctx, "acme", a.ID, 0)
	is.NoErr(err)

	f.clock.Advance(10*time.Second - time.Nanosecond) // from the read that built them, at t0
	_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, a.Value))
	is.NoErr(err) // within MaxAge the cached keys stand
	f.clock.Advance(time.Nanosecond)
	_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, a.Value))
	is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // after it, the other process's rotation is seen
	_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, res.Value))
	is.NoErr(err) // with its new value
}

// A Rotator without the keyring cannot open what another sealed: it says
// it is misconfigured, and never that the keys are empty.
func TestKeysNeedKeyring(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	f.create(t, "acme", rotation.Spec{HMAC: true})
	other, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now})
	is.NoErr(err)
	_, err = other.VerifyingKeys(t.Context(), "acme")
	is.True(errors.Is(err, rotation.ErrMisconfigured)) // no keyring to open sealed values with
	var oerr *rotation.OptionError
	is.True(errors.As(err, &oerr)) // typed
	is.Equal(oerr.Field, "Keyring")
}

// Keys built from a keyset go as soon as a poll reports a change of its
// owner, long before MaxAge, and so do those of every owner when the
// first poll, or a notification of "", says that any may have changed.
func TestKeysFollowChanges(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first bool // whether the change is heard by the first poll
	}{
		{"poll reports the owner", false},
		{"first poll drops every owner", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			feed := newFeed(false)
			f := newFixtureOver(t, feed, func(o *rotation.Options) { o.Cache.MaxAge = time.Hour })
			if !tt.first {
				is.NoErr(f.r.Poll(ctx)) // marks where the next poll asks from
			}
			a := f.create(t, "acme", rotation.Spec{HMAC: true})
			v, err := hmacsign.NewVerifier(f.r, &hmacsign.VerifierOptions{Now: f.clock.Now})
			is.NoErr(err)
			_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, a.Value))
			is.NoErr(err) // keys built and cached

			other, err := rotation.New(feed, &rotation.Options{Now: f.clock.Now, Keyring: f.ring})
			is.NoErr(err)
			res, err := other.Regenerate(ctx, "acme", a.ID, 0)
			is.NoErr(err)
			_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, a.Value))
			is.NoErr(err) // the cached keys stand until a change is heard of
			is.NoErr(f.r.Poll(ctx))
			_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, a.Value))
			is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // then the old value is gone
			_, err = v.Verify(ctx, "acme", signWith(t, f, a.ID, res.Value))
			is.NoErr(err) // and the new one verifies
		})
	}
}

// Keys are built once per keyset read, and again only when one of them
// stops working: a window that closes, a secret that expires. Each
// rebuild opens the sealed values again, which the count of loads does
// not show, so the test watches the keys' ends instead.
func TestKeysRebuiltAtTheirBounds(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxAge = time.Hour })
	a := f.create(t, "acme", rotation.Spec{HMAC: true, ExpiresAt: t0.Add(30 * time.Minute)})
	b := f.create(t, "acme", rotation.Spec{HMAC: true})
	f.regenerate(t, "acme", b.ID, 10*time.Minute)
	loads := f.store.loads.Load()
	keys, err := f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(keys), []string{a.ID, b.ID, b.ID}) // a, b's new value, b's old one in grace
	again, err := f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.True(&again[0] == &keys[0]) // the same keys, not built again

	f.clock.Set(t0.Add(10*time.Minute - time.Nanosecond))
	again, err = f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.True(&again[0] == &keys[0]) // up to the first bound, still the same
	f.clock.Set(t0.Add(10 * time.Minute))
	keys, err = f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(keys), []string{a.ID, b.ID}) // at it, the window has closed
	signing, err := f.r.SigningKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(signing), []string{a.ID}) // a signs

	f.clock.Set(t0.Add(30 * time.Minute))
	keys, err = f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(keys), []string{b.ID}) // a has expired
	signing, err = f.r.SigningKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(signing), []string{b.ID}) // and b has taken over signing
	is.Equal(f.store.loads.Load(), loads)  // all from the keyset this Rotator saved
}
