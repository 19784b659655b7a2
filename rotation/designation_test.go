package rotation_test

import (
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
)

// The first secret that can sign is designated, whatever was created
// before it, and only it.
func TestDesignationFirstSigningSecret(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxActive = 5 })
	plain := f.create(t, "acme", rotation.Spec{})
	is.True(!plain.Signing)                   // a plain key cannot sign, so is not designated
	is.Equal(f.keyset(t, "acme").Signing, "") // and the owner has no designation
	f.seen()

	first := f.create(t, "acme", rotation.Spec{HMAC: true})
	is.True(first.Signing) // the first secret that can sign is designated
	if d := diff([]rotation.Event{
		{Kind: rotation.EventCreated, Owner: "acme", SecretID: first.ID, Hint: first.Current.Hint, At: t0},
		{Kind: rotation.EventDesignated, Owner: "acme", SecretID: first.ID, Hint: first.Current.Hint, At: t0},
	}, f.seen()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	webhook := f.create(t, "acme", rotation.Spec{Format: secrets.Webhook})
	is.True(!webhook.Signing) // the next ones are not
	f.create(t, "acme", rotation.Spec{HMAC: true})
	is.Equal(f.keyset(t, "acme").Signing, first.ID)             // the store names the one
	is.Equal(designated(f.list(t, "acme")), []string{first.ID}) // and the list shows it alone
}

func TestDesignationProtects(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	first := f.create(t, "acme", rotation.Spec{HMAC: true})
	second := f.create(t, "acme", rotation.Spec{Format: secrets.Webhook})
	saves := f.store.saves.Load()

	for op, do := range map[string]func() error{
		"delete": func() error { return f.r.Delete(ctx, "acme", first.ID) },
		"revoke": func() error { return f.r.Revoke(ctx, "acme", first.ID) },
	} {
		err := do()
		is.True(errors.Is(err, rotation.ErrDesignated)) // the designated secret cannot be deleted or revoked
		var serr *rotation.SecretError
		is.True(errors.As(err, &serr))               // typed
		is.Equal(serr.Op, op)                        // naming the operation
		is.Equal(serr.ID, first.ID)                  // and the secret
		is.Equal(serr.Status, rotation.StatusActive) // which is active
	}
	is.Equal(f.store.saves.Load(), saves) // nothing was saved
	is.NoErr(f.auth(t, first.Value))      // and it still works

	f.seen()
	at := f.clock.Advance(time.Second)
	is.NoErr(f.r.SetSigning(ctx, "acme", second.ID))
	if d := diff([]rotation.Event{{Kind: rotation.EventDesignated, Owner: "acme", SecretID: second.ID, PreviousID: first.ID, Hint: second.Current.Hint, At: at}}, f.seen()); d != "" {
		t.Errorf("SetSigning reports the move (-want +got):\n%s", d)
	}
	is.Equal(designated(f.list(t, "acme")), []string{second.ID}) // the designation moved to exactly one secret
	is.Equal(f.keyset(t, "acme").Signing, second.ID)

	is.NoErr(f.r.Delete(ctx, "acme", first.ID)) // now it can be deleted
	_, err := f.r.Get(ctx, "acme", first.ID)
	is.True(errors.Is(err, rotation.ErrNotFound))                      // and is gone for good
	is.True(errors.Is(f.auth(t, first.Value), rotation.ErrInvalidKey)) // its value unknown
	err = f.r.Delete(ctx, "acme", first.ID)
	is.True(errors.Is(err, rotation.ErrNotFound)) // deleting twice says so
}

func TestSetSigningRefuses(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, f *fixture) string
		want   error
		status rotation.Status
	}{
		{"plain key", func(t *testing.T, f *fixture) string { return f.create(t, "acme", rotation.Spec{}).ID }, rotation.ErrCannotSign, rotation.StatusActive},
		{"custom plain key", func(t *testing.T, f *fixture) string {
			return f.create(t, "acme", rotation.Spec{Custom: true, Format: "pk_live"}).ID
		}, rotation.ErrCannotSign, rotation.StatusActive},
		{"unknown", func(t *testing.T, f *fixture) string { return noSuchID }, rotation.ErrNotFound, 0},
		{"revoked", func(t *testing.T, f *fixture) string {
			s := f.create(t, "acme", rotation.Spec{HMAC: true})
			if err := f.r.Revoke(t.Context(), "acme", s.ID); err != nil {
				t.Fatal(err)
			}
			return s.ID
		}, rotation.ErrNotActive, rotation.StatusRevoked},
		{"expired", func(t *testing.T, f *fixture) string {
			s := f.create(t, "acme", rotation.Spec{HMAC: true, ExpiresAt: t0.Add(time.Minute)})
			f.clock.Advance(time.Minute)
			return s.ID
		}, rotation.ErrNotActive, rotation.StatusExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			signer := f.create(t, "acme", rotation.Spec{HMAC: true}) // designated
			id := tt.setup(t, f)
			saves := f.store.saves.Load()
			err := f.r.SetSigning(t.Context(), "acme", id)
			is.True(errors.Is(err, tt.want)) // refused for the reason
			var serr *rotation.SecretError
			is.True(errors.As(err, &serr))        // typed
			is.Equal(serr.Op, "designate")        // naming the operation
			is.Equal(serr.Status, tt.status)      // and the status
			is.Equal(f.store.saves.Load(), saves) // nothing saved
			if tt.name != "revoked" && tt.name != "expired" {
				is.Equal(f.keyset(t, "acme").Signing, signer.ID) // the designation stays
			}
		})
	}
	t.Run("the designated one", func(t *testing.T) {
		is := is.New(t)
		f := newFixture(t, nil)
		s := f.create(t, "acme", rotation.Spec{HMAC: true})
		saves := f.store.saves.Load()
		f.seen()
		is.NoErr(f.r.SetSigning(t.Context(), "acme", s.ID)) // designating the designated secret is fine
		is.Equal(f.store.saves.Load(), saves)               // and saves nothing
		is.Equal(len(f.seen()), 0)                          // nor reports anything
	})
}

// An owner with no secret that can sign has no designation, and every
// secret can be revoked or deleted, the last one too.
func TestNoDesignationWithoutSigningSecrets(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	a := f.create(t, "acme", rotation.Spec{})
	b := f.create(t, "acme", rotation.Spec{Custom: true})
	c := f.create(t, "acme", rotation.Spec{})
	is.Equal(len(designated(f.list(t, "acme"))), 0) // no secret is designated
	is.Equal(f.keyset(t, "acme").Signing, "")
	keys, err := f.r.SigningKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(len(keys), 0) // and there is nothing to sign with

	is.NoErr(f.r.Revoke(ctx, "acme", a.ID)) // each can be revoked
	is.NoErr(f.r.Revoke(ctx, "acme", b.ID))
	is.NoErr(f.r.Revoke(ctx, "acme", c.ID)) // the last one too
	is.NoErr(f.r.Delete(ctx, "acme", a.ID)) // and deleted
	is.NoErr(f.r.Delete(ctx, "acme", b.ID))
	is.NoErr(f.r.Delete(ctx, "acme", c.ID))
	is.Equal(len(f.list(t, "acme")), 0) // leaving nothing
}

// Once the designated secret has expired it no longer signs: the oldest
// active secret that can sign does, the expired one can be deleted, and
// no later Create makes a second designation.
func TestDesignationEndsWithExpiry(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxActive = 5 })
	end := t0.Add(time.Hour)
	a := f.create(t, "acme", rotation.Spec{HMAC: true, ExpiresAt: end})
	f.create(t, "acme", rotation.Spec{}) // cannot sign
	b := f.create(t, "acme", rotation.Spec{HMAC: true})
	c := f.create(t, "acme", rotation.Spec{Format: secrets.Webhook})
	is.True(a.Signing) // a is designated

	f.clock.Set(end.Add(-time.Nanosecond))
	is.True(errors.Is(f.r.Delete(ctx, "acme", a.ID), rotation.ErrDesignated)) // while it is valid

	f.clock.Set(end)
	is.Equal(designated(f.list(t, "acme")), []string{b.ID}) // at its expiry the oldest active signer signs
	keys, err := f.r.SigningKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(ids(keys), []string{b.ID}) // and its keys sign

	f.seen()
	is.NoErr(f.r.Delete(ctx, "acme", a.ID)) // the expired secret can be deleted
	if d := diff([]rotation.Event{
		{Kind: rotation.EventDeleted, Owner: "acme", SecretID: a.ID, Hint: a.Current.Hint, At: end},
		{Kind: rotation.EventDesignated, Owner: "acme", SecretID: b.ID, PreviousID: a.ID, Hint: b.Current.Hint, At: end},
	}, f.seen()); d != "" {
		t.Errorf("the settled designation is reported (-want +got):\n%s", d)
	}
	is.Equal(f.keyset(t, "acme").Signing, b.ID) // and saved

	d := f.create(t, "acme", rotation.Spec{HMAC: true})
	is.True(!d.Signing)                                     // a later Create makes no second designation
	is.Equal(f.keyset(t, "acme").Signing, b.ID)             // the store names one key
	is.Equal(designated(f.list(t, "acme")), []string{b.ID}) // and so does the list
	is.NoErr(f.r.SetSigning(ctx, "acme", c.ID))             // it can be moved as before
	is.Equal(designated(f.list(t, "acme")), []string{c.ID})
}

// A designated secret that expires with no other signer leaves the owner
// with none, until a secret that can sign is created.
func TestDesignationExpiresWithNoOtherSigner(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	a := f.create(t, "acme", rotation.Spec{HMAC: true, ExpiresAt: t0.Add(time.Hour)})
	f.create(t, "acme", rotation.Spec{})
	f.clock.Set(t0.Add(time.Hour))
	is.Equal(len(designated(f.list(t, "acme"))), 0) // no secret signs
	keys, err := f.r.SigningKeys(ctx, "acme")
	is.NoErr(err)
	is.Equal(len(keys), 0)                  // nothing to sign with
	is.NoErr(f.r.Revoke(ctx, "acme", a.ID)) // revoking an expired secret changes nothing
	is.NoErr(f.r.Delete(ctx, "acme", a.ID)) // and it can be deleted
	is.Equal(f.keyset(t, "acme").Signing, "")

	f.seen()
	n := f.create(t, "acme", rotation.Spec{HMAC: true})
	is.True(n.Signing) // the next signer is designated
	events := f.seen()
	is.Equal(len(events), 2)                           // created and designated
	is.Equal(events[1].Kind, rotation.EventDesignated) // by Create
	is.Equal(events[1].SecretID, n.ID)
	is.Equal(events[1].PreviousID, "")
}

// Authenticate says whether the secret signs the way List does: after the
// designated secret has expired, the secret that took over signs, even
// before any change has been saved.
func TestAuthenticateReportsSettledDesignation(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	f.create(t, "acme", rotation.Spec{HMAC: true, ExpiresAt: t0.Add(time.Hour)})
	b := f.create(t, "acme", rotation.Spec{HMAC: true})
	f.clock.Set(t0.Add(time.Hour))
	is.Equal(designated(f.list(t, "acme")), []string{b.ID}) // List says b signs
	p, err := f.r.Authenticate(t.Context(), b.Value.Reveal(), rotation.Request{})
	is.NoErr(err)
	is.True(p.Secret.Signing) // and so must Authenticate

	f.create(t, "acme", rotation.Spec{}) // a save settles the takeover
	p, err = f.r.Authenticate(t.Context(), b.Value.Reveal(), rotation.Request{})
	is.NoErr(err)
	is.True(p.Secret.Signing) // b still signs

	// A process that has cached nothing finds the key in the store, and
	// tells from the keyset it reads with it.
	other, err := rotation.New(f.store.Store, &rotation.Options{Now: f.clock.Now})
	is.NoErr(err)
	p, err = other.Authenticate(t.Context(), b.Value.Reveal(), rotation.Request{})
	is.NoErr(err)
	is.True(p.Secret.Signing) // there too
}
