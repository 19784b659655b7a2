package rotation_test

import (
	"errors"
	"sync"
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

func TestSigningKeysFollowGrace(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	a := f.create(t, "acme", rotation.Spec{Format: secrets.Webhook})
	f.create(t, "acme", rotation.Spec{}) // no HMAC: never a key
	b := f.create(t, "acme", rotation.Spec{HMAC: true})

	keys, err := f.r.SigningKeys(ctx, "acme")
	is.NoErr(err)
	if d := diff([]string{a.ID}, ids(keys)); d != "" {
		t.Errorf("signing keys before rotation (-want +got):\n%s", d)
	}
	keys, err = f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	if d := diff([]string{a.ID, b.ID}, ids(keys)); d != "" {
		t.Errorf("verifying keys hold every HMAC secret, not plain keys (-want +got):\n%s", d)
	}

	f.clock.Advance(time.Second)
	a1, err := f.r.Regenerate(ctx, "acme", a.ID, time.Minute)
	is.NoErr(err)
	f.clock.Advance(time.Second)
	a2, err := f.r.Regenerate(ctx, "acme", a1.ID, time.Minute)
	is.NoErr(err)
	keys, err = f.r.SigningKeys(ctx, "acme")
	is.NoErr(err)
	if d := diff([]string{a2.ID, a1.ID, a.ID}, ids(keys)); d != "" {
		t.Errorf("during the windows the new key signs first, then its predecessors (-want +got):\n%s", d)
	}

	f.clock.Set(t0.Add(time.Second + time.Minute)) // a's window is over, a1's is not
	now := f.clock.Now()
	var valid []string
	for _, k := range keys {
		if k.ValidAt(now) {
			valid = append(valid, k.ID())
		}
	}
	if d := diff([]string{a2.ID, a1.ID}, valid); d != "" {
		t.Errorf("a key says itself when its window ends (-want +got):\n%s", d)
	}
}

func TestKeysSeeOwnChangesAtOnce(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	f.create(t, "acme", rotation.Spec{HMAC: true}) // the designated one
	b := f.create(t, "acme", rotation.Spec{HMAC: true})
	v, err := hmacsign.NewVerifier(f.r, &hmacsign.VerifierOptions{Now: f.clock.Now})
	is.NoErr(err) // default options are in range
	s := hmacsign.NewSigner(hmacsign.StaticKeys{mustKey(t, b)}, &hmacsign.SignerOptions{Now: f.clock.Now})
	msg, err := s.Sign(ctx, "acme", "msg_1", []byte(`{}`))
	is.NoErr(err)

	got, err := v.Verify(ctx, "acme", msg)
	is.NoErr(err)       // any valid secret of the owner verifies, not only the designated one
	is.Equal(got, b.ID) // and the verifier says which

	is.NoErr(f.r.Revoke(ctx, "acme", b.ID))
	_, err = v.Verify(ctx, "acme", msg)
	is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // a revoked secret stops verifying at once

	_, err = v.Verify(ctx, "nobody", msg)
	is.True(errors.Is(err, hmacsign.ErrInvalidSignature)) // an owner with no keys fails closed
}

func TestKeysSeeOtherProcessesWithinRefresh(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.KeyRefresh = 10 * time.Second })
	a := f.create(t, "acme", rotation.Spec{HMAC: true})
	keys, err := f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(len(keys), 1)

	// Another Rotator over the same store stands for another process.
	other, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now, Keyring: f.ring})
	is.NoErr(err)
	_, err = other.Regenerate(ctx, "acme", a.ID, 0)
	is.NoErr(err)

	f.clock.Advance(10*time.Second - time.Nanosecond)
	keys, err = f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(keys), []string{a.ID}) // within the refresh interval the cached keys stand
	f.clock.Advance(time.Nanosecond)
	keys, err = f.r.VerifyingKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(len(keys), 1)
	is.True(keys[0].ID() != a.ID) // after it, the other process's rotation is seen
}

// Verifies through the Rotator keep succeeding while another goroutine
// rotates the same owner in a loop.
func TestVerifyDuringRotation(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	stable := f.create(t, "acme", rotation.Spec{HMAC: true})
	rotating := f.create(t, "acme", rotation.Spec{HMAC: true})
	v, err := hmacsign.NewVerifier(f.r, &hmacsign.VerifierOptions{Now: f.clock.Now})
	is.NoErr(err) // default options are in range
	s := hmacsign.NewSigner(hmacsign.StaticKeys{mustKey(t, stable)}, &hmacsign.SignerOptions{Now: f.clock.Now})
	msg, err := s.Sign(ctx, "acme", "msg_1", []byte(`{"n":1}`))
	is.NoErr(err)

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		id := rotating.ID
		for range 200 {
			res, err := f.r.Regenerate(ctx, "acme", id, 0)
			if err != nil {
				t.Errorf("regenerate: %v", err)
				return
			}
			id = res.ID
		}
	})
	verified := 0
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		default:
		}
		_, err := v.Verify(ctx, "acme", msg)
		is.NoErr(err) // never an empty or half-built key set
		verified++
	}
	wg.Wait()
	is.True(verified > 0)
}

func mustKey(t *testing.T, s *rotation.Issued) hmacsign.Key {
	t.Helper()
	k, err := hmacsign.NewKey(s.ID, s.Value, s.ExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
