package rotation_test

import (
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
)

func TestCreateLimit(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	var first *rotation.Issued
	for i := range 3 {
		s := f.create(t, "acme", rotation.Spec{})
		if i == 0 {
			first = s
		}
	}
	_, err := f.r.Create(t.Context(), "acme", rotation.Spec{})
	is.True(errors.Is(err, rotation.ErrLimitReached)) // a fourth active secret is refused
	var lerr *rotation.LimitError
	is.True(errors.As(err, &lerr)) // with a typed error
	is.Equal(lerr.Limit, 3)        // that says the limit

	_, err = f.r.Regenerate(t.Context(), "acme", first.ID, time.Hour)
	is.NoErr(err) // regenerating at the limit works
	_, err = f.r.Create(t.Context(), "acme", rotation.Spec{})
	is.True(errors.Is(err, rotation.ErrLimitReached)) // and does not free a place: the new one is active

	list, err := f.r.List(t.Context(), "acme")
	is.NoErr(err)
	for _, s := range list {
		if s.Status == rotation.StatusActive && !s.Signing {
			is.NoErr(f.r.Revoke(t.Context(), "acme", s.ID))
			break
		}
	}
	f.create(t, "acme", rotation.Spec{}) // a revoked secret frees its place

	_, err = f.r.Create(t.Context(), "other", rotation.Spec{})
	is.NoErr(err) // limits are per owner
}

func TestCreateLimitIsPolicy(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxActive = 1 })
	f.create(t, "acme", rotation.Spec{})
	_, err := f.r.Create(t.Context(), "acme", rotation.Spec{})
	var lerr *rotation.LimitError
	is.True(errors.As(err, &lerr)) // the policy's limit applies
	is.Equal(lerr.Limit, 1)
}

func TestCreateValidates(t *testing.T) {
	tests := []struct {
		name  string
		owner string
		spec  rotation.Spec
		field string
	}{
		{"empty owner", "", rotation.Spec{}, "owner"},
		{"long name", "acme", rotation.Spec{Name: string(make([]byte, 201))}, "Name"},
		{"negative rate limit", "acme", rotation.Spec{RateLimit: -1}, "RateLimit"},
		{"empty scope", "acme", rotation.Spec{Scopes: []string{""}}, "Scopes"},
		{"expiry in the past", "acme", rotation.Spec{ExpiresAt: t0}, "ExpiresAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			_, err := f.r.Create(t.Context(), tt.owner, tt.spec)
			var verr *rotation.ValidationError
			is.True(errors.As(err, &verr))           // a typed validation error
			is.Equal(verr.Field, tt.field)           // naming the field
			is.Equal(f.store.saves.Load(), int64(0)) // and nothing saved
		})
	}
}

func TestHMACNeedsKeyring(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Keyring = nil })
	_, err := f.r.Create(t.Context(), "acme", rotation.Spec{HMAC: true})
	is.True(errors.Is(err, rotation.ErrValidation)) // sealing needs a keyring
	s := f.create(t, "acme", rotation.Spec{})
	is.True(!s.HMAC) // a plain key keeps no sealed value
}

func TestHMACSecretIsSealed(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{HMAC: true})
	is.True(s.HMAC) // the secret says its value is kept
	ks, err := f.store.Load(t.Context(), "acme")
	is.NoErr(err)
	opened, err := f.ring.Open(s.ID, ks.Secrets[0].Sealed)
	is.NoErr(err)
	is.True(opened.Equal(s.Value)) // what is stored opens to the value handed out

	res, err := f.r.Regenerate(t.Context(), "acme", s.ID, time.Minute)
	is.NoErr(err)
	is.True(res.HMAC) // a successor is sealed like its predecessor
}

func TestDesignation(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	first := f.create(t, "acme", rotation.Spec{HMAC: true})
	second := f.create(t, "acme", rotation.Spec{HMAC: true})
	is.True(first.Signing)   // the first secret created signs webhooks
	is.True(!second.Signing) // the next ones do not

	err := f.r.Delete(ctx, "acme", first.ID)
	is.True(errors.Is(err, rotation.ErrDesignated)) // the designated secret cannot be deleted
	err = f.r.Revoke(ctx, "acme", first.ID)
	is.True(errors.Is(err, rotation.ErrDesignated)) // nor revoked
	is.NoErr(f.auth(t, first.Value))                // and still works

	is.NoErr(f.r.SetSigning(ctx, "acme", second.ID))
	got, err := f.r.Get(ctx, "acme", first.ID)
	is.NoErr(err)
	is.True(!got.Signing) // the designation moved away
	_, designated := f.count(t, "acme")
	is.Equal(designated, 1) // to exactly one secret

	is.NoErr(f.r.Delete(ctx, "acme", first.ID)) // now it can be deleted
	_, err = f.r.Get(ctx, "acme", first.ID)
	is.True(errors.Is(err, rotation.ErrNotFound))                      // and is gone for good
	is.True(errors.Is(f.auth(t, first.Value), rotation.ErrInvalidKey)) // its key is unknown
	err = f.r.Delete(ctx, "acme", first.ID)
	is.True(errors.Is(err, rotation.ErrNotFound)) // deleting twice says so

	third := f.create(t, "acme", rotation.Spec{})
	is.True(!third.Signing) // a designated secret exists, so a new one is not designated
}

func TestSetSigningRefuses(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	a := f.create(t, "acme", rotation.Spec{})
	b := f.create(t, "acme", rotation.Spec{})
	_, err := f.r.Regenerate(ctx, "acme", b.ID, time.Minute)
	is.NoErr(err)
	err = f.r.SetSigning(ctx, "acme", b.ID)
	is.True(errors.Is(err, rotation.ErrNotActive)) // a secret in grace cannot sign
	err = f.r.SetSigning(ctx, "acme", "sec_nosuchsecretnosuchsecretxx")
	is.True(errors.Is(err, rotation.ErrNotFound)) // nor an unknown one
	saves := f.store.saves.Load()
	is.NoErr(f.r.SetSigning(ctx, "acme", a.ID)) // designating the designated secret is fine
	is.Equal(f.store.saves.Load(), saves)       // and saves nothing
}

func TestRevoke(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	f.create(t, "acme", rotation.Spec{})
	s := f.create(t, "acme", rotation.Spec{})
	is.NoErr(f.r.Revoke(ctx, "acme", s.ID))
	is.True(errors.Is(f.auth(t, s.Value), rotation.ErrRevoked)) // a revoked key is refused at once
	is.NoErr(f.r.Revoke(ctx, "acme", s.ID))                     // revoking again is harmless
	got, err := f.r.Get(ctx, "acme", s.ID)
	is.NoErr(err)
	is.Equal(got.Status, rotation.StatusRevoked) // and it is listed as revoked
	is.Equal(got.RevokedAt, t0)                  // since the clock's now
}

func TestRevokeEndsGrace(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	old := f.create(t, "acme", rotation.Spec{})
	_, err := f.r.Regenerate(t.Context(), "acme", old.ID, time.Hour)
	is.NoErr(err)
	is.NoErr(f.r.Revoke(t.Context(), "acme", old.ID))
	is.True(errors.Is(f.auth(t, old.Value), rotation.ErrRevoked)) // a leaked old key can be ended early
}

func TestListShowsNoValues(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{Name: "ci", Scopes: []string{"read"}})
	list, err := f.r.List(t.Context(), "acme")
	is.NoErr(err)
	is.Equal(len(list), 1)
	is.Equal(list[0].ID, s.ID)
	is.Equal(list[0].Name, "ci")
	is.Equal(list[0].Hint, s.Value.Reveal()[s.Value.Len()-4:]) // the hint is the last four characters
	is.Equal(list[0].Status, rotation.StatusActive)
	list[0].Scopes[0] = "changed"
	again, err := f.r.List(t.Context(), "acme")
	is.NoErr(err)
	is.Equal(again[0].Scopes[0], "read") // a caller's copy is its own

	empty, err := f.r.List(t.Context(), "nobody")
	is.NoErr(err)
	is.Equal(len(empty), 0) // an unknown owner has no secrets
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  rotation.Options
		field string
	}{
		{"negative limit", rotation.Options{Policy: rotation.Policy{MaxActive: -1}}, "Policy.MaxActive"},
		{"negative grace set", rotation.Options{Policy: rotation.Policy{MaxInGrace: -1}}, "Policy.MaxInGrace"},
		{"negative bound", rotation.Options{Policy: rotation.Policy{MaxGracePeriod: -1}}, "Policy.MaxGracePeriod"},
		{"bad format", rotation.Options{Format: "sk_LIVE"}, "Format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := rotation.New(newFixture(t, nil).store, &tt.opts)
			var verr *rotation.ValidationError
			is.True(errors.As(err, &verr)) // bad options are refused at construction
			is.Equal(verr.Field, tt.field) // naming the option
		})
	}
	r, err := rotation.New(newFixture(t, nil).store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Policy(); d != (rotation.Policy{MaxActive: 3, MaxInGrace: 3, MaxGracePeriod: time.Hour, KeepEnded: 10}) {
		t.Errorf("default policy = %+v", d)
	}
}
